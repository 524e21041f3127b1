#include "bpnet/history.hpp"

namespace bpnet {
namespace {

nlohmann::json optional_number(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json config_to_json(const TrainConfig& c) {
  const OptimizerOptions& o = c.optimizer;
  return {{"layers", c.model.layer_sizes},
          {"activation", name(c.model.activation)},
          {"output", name(c.model.output)},
          {"loss", name(c.model.loss)},
          {"normalize", name(c.model.normalize)},
          {"init", name(c.init)},
          {"optimizer", name(o.kind)},
          {"lr", o.lr},
          {"momentum", o.momentum},
          {"nesterov", o.nesterov},
          {"beta1", o.beta1},
          {"beta2", o.beta2},
          {"eps", o.eps},
          {"weight_decay", o.weight_decay},
          {"batch", c.batch},
          {"epochs", c.epochs},
          {"validation_split", c.validation_split},
          {"seed", c.seed},
          {"shuffle", c.shuffle},
          {"threads", c.threads},
          {"workers", c.workers}};
}

nlohmann::json history_to_json(const TrainConfig& config, const std::vector<EpochRecord>& epochs,
                               double train_seconds, const std::optional<Evaluation>& test) {
  nlohmann::json rows = nlohmann::json::array();
  for (const EpochRecord& e : epochs) {
    rows.push_back({{"epoch", e.epoch},
                    {"loss", e.loss},
                    {"accuracy", e.accuracy},
                    {"val_loss", optional_number(e.val_loss)},
                    {"val_accuracy", optional_number(e.val_accuracy)},
                    {"seconds", e.seconds}});
  }
  nlohmann::json test_json = nullptr;
  if (test) test_json = {{"loss", test->loss}, {"accuracy", test->accuracy}, {"n", test->n}};
  return {{"config", config_to_json(config)},
          {"epochs", rows},
          {"test", test_json},
          {"train_seconds", train_seconds}};
}

nlohmann::json evaluation_to_json(const Evaluation& e) {
  return {{"n", e.n},
          {"accuracy", e.accuracy},
          {"standard_error", e.standard_error},
          {"loss", e.loss},
          {"per_class", e.per_class_accuracy},
          {"confusion", e.confusion}};
}

}  // namespace bpnet
