#include "bpnet/history.hpp"

#include <fmt/format.h>

#include <fstream>

#include "bpnet/error.hpp"

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

TrainConfig config_from_json(const nlohmann::json& j) {
  TrainConfig c;
  c.model.layer_sizes = j.at("layers").get<std::vector<std::size_t>>();
  c.model.activation = parse_activation(j.at("activation").get<std::string>());
  c.model.output = parse_output(j.at("output").get<std::string>());
  c.model.loss = parse_loss(j.at("loss").get<std::string>());
  c.model.normalize = parse_normalize(j.at("normalize").get<std::string>());
  c.init = parse_init(j.at("init").get<std::string>());
  OptimizerOptions& o = c.optimizer;
  o.kind = parse_optimizer(j.at("optimizer").get<std::string>());
  o.lr = j.at("lr").get<double>();
  o.momentum = j.at("momentum").get<double>();
  o.nesterov = j.at("nesterov").get<bool>();
  o.beta1 = j.at("beta1").get<double>();
  o.beta2 = j.at("beta2").get<double>();
  o.eps = j.at("eps").get<double>();
  o.weight_decay = j.at("weight_decay").get<double>();
  c.batch = j.at("batch").get<std::size_t>();
  c.epochs = j.at("epochs").get<std::size_t>();
  c.validation_split = j.at("validation_split").get<double>();
  c.seed = j.at("seed").get<std::uint64_t>();
  c.shuffle = j.at("shuffle").get<bool>();
  c.threads = j.at("threads").get<int>();
  c.workers = j.at("workers").get<int>();
  return c;
}

std::vector<EpochRecord> epochs_from_json(const nlohmann::json& rows) {
  std::vector<EpochRecord> epochs;
  for (const auto& row : rows) {
    EpochRecord e;
    e.epoch = row.at("epoch").get<std::size_t>();
    e.loss = row.at("loss").get<double>();
    e.accuracy = row.at("accuracy").get<double>();
    if (row.contains("val_loss") && !row.at("val_loss").is_null()) e.val_loss = row.at("val_loss").get<double>();
    if (row.contains("val_accuracy") && !row.at("val_accuracy").is_null()) {
      e.val_accuracy = row.at("val_accuracy").get<double>();
    }
    e.seconds = row.value("seconds", 0.0);
    epochs.push_back(e);
  }
  return epochs;
}

std::vector<EpochRecord> read_history_epochs(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw DataError(path.string(), "cannot open history file");
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    const std::vector<EpochRecord> epochs = epochs_from_json(j.at("epochs"));
    if (epochs.empty()) throw DataError(path.string(), "history has no epochs");
    return epochs;
  } catch (const nlohmann::json::exception& e) {
    throw DataError(path.string(), fmt::format("not a bpnet history file ({})", e.what()));
  }
}

}  // namespace bpnet
