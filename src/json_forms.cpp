#include "json_forms.hpp"

#include <fmt/format.h>

#include <cmath>

#include "bpnet/error.hpp"

namespace bpnet {
namespace {

nlohmann::json optional_number(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

std::optional<double> number_or_null(const nlohmann::json& row, const char* key) {
  if (!row.contains(key) || row.at(key).is_null()) return std::nullopt;
  return row.at(key).get<double>();
}

nlohmann::json augment_to_json(const AugmentOptions& a) {
  return {{"kind", name(a.kind)},           {"rotate", a.rotate},
          {"scale", a.scale},               {"shear", a.shear},
          {"translate", a.translate},       {"elastic_sigma", a.elastic_sigma},
          {"elastic_alpha", a.elastic_alpha}};
}

AugmentOptions augment_from_json(const nlohmann::json& j) {
  return {.kind = parse_augment(j.at("kind").get<std::string>()),
          .rotate = j.at("rotate").get<double>(),
          .scale = j.at("scale").get<double>(),
          .shear = j.at("shear").get<double>(),
          .translate = j.at("translate").get<double>(),
          .elastic_sigma = j.at("elastic_sigma").get<double>(),
          .elastic_alpha = j.at("elastic_alpha").get<double>()};
}

}  // namespace

nlohmann::json layer_to_json(const LayerSpec& layer) {
  nlohmann::json j = {{"type", layer.type}};
  for (const auto& [key, value] : layer.attributes) {
    // Whole numbers (sizes) are written as integers: {"out": 128}, not 128.0.
    const bool whole = value == std::floor(value) && std::abs(value) < 0x1p53;
    j[key] = whole ? nlohmann::json(static_cast<std::int64_t>(value)) : nlohmann::json(value);
  }
  return j;
}

LayerSpec layer_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw ConfigError(fmt::format("{}: expected an object like {{\"type\": \"ReLU\"}}", where));
  if (!j.contains("type") || !j.at("type").is_string()) {
    throw ConfigError(fmt::format("{}: needs a \"type\" string, e.g. \"Linear\"", where));
  }
  LayerSpec layer;
  layer.type = j.at("type").get<std::string>();
  for (const auto& [key, value] : j.items()) {
    if (key == "type") continue;
    if (!value.is_number()) {
      throw ConfigError(fmt::format("{} ({}): attribute '{}' must be a number, found {}", where, layer.type, key,
                                    value.dump()));
    }
    layer.attributes[key] = value.get<double>();
  }
  return layer;
}

nlohmann::json layers_to_json(const std::vector<LayerSpec>& layers) {
  nlohmann::json list = nlohmann::json::array();
  for (const LayerSpec& layer : layers) list.push_back(layer_to_json(layer));
  return list;
}

std::vector<LayerSpec> layers_from_json(const nlohmann::json& j) {
  if (!j.is_array()) throw ConfigError("the layer list must be a JSON array of layer objects");
  std::vector<LayerSpec> layers;
  for (std::size_t i = 0; i < j.size(); ++i) layers.push_back(layer_from_json(j[i], fmt::format("layer {}", i + 1)));
  return layers;
}

nlohmann::json model_spec_to_json(const ModelSpec& spec) {
  return {{"inputs", spec.inputs},
          {"image_shape", {spec.image_rows, spec.image_cols}},
          {"layers", layers_to_json(spec.layers)},
          {"loss", name(spec.loss)},
          {"normalize", name(spec.normalize)}};
}

ModelSpec model_spec_from_json(const nlohmann::json& j) {
  ModelSpec spec;
  spec.inputs = j.at("inputs").get<std::size_t>();
  const auto shape = j.at("image_shape").get<std::vector<std::size_t>>();
  if (shape.size() != 2) throw ConfigError("image_shape must have 2 entries");
  spec.image_rows = shape[0];
  spec.image_cols = shape[1];
  spec.layers = layers_from_json(j.at("layers"));
  spec.loss = parse_loss(j.at("loss").get<std::string>());
  spec.normalize = parse_normalize(j.at("normalize").get<std::string>());
  spec.validate();
  // Each factor is checked separately so the product cannot wrap.
  if (spec.image_rows > spec.inputs || spec.image_cols > spec.inputs ||
      spec.image_rows * spec.image_cols != spec.inputs) {
    throw ConfigError(fmt::format("image_shape {}x{} does not match the {} inputs", spec.image_rows,
                                  spec.image_cols, spec.inputs));
  }
  return spec;
}

nlohmann::json config_to_json(const TrainConfig& c) {
  const OptimizerOptions& o = c.optimizer;
  const ScheduleOptions& s = c.schedule;
  const EarlyStoppingOptions& e = c.early_stopping;
  // The model's fields first, under the same keys as in model files.
  nlohmann::json j = model_spec_to_json(c.model);
  j.update(nlohmann::json{{"init", name(c.init)},
          {"optimizer", name(o.kind)},
          {"lr", o.lr},
          {"momentum", o.momentum},
          {"nesterov", o.nesterov},
          {"beta1", o.beta1},
          {"beta2", o.beta2},
          {"eps", o.eps},
          {"weight_decay", o.weight_decay},
          {"lr_schedule", name(s.kind)},
          {"warmup_epochs", s.warmup_epochs},
          {"lr_step_epochs", s.step_epochs},
          {"lr_gamma", s.gamma},
          {"lr_min", s.lr_min},
          {"plateau_patience", s.plateau_patience},
          {"early_stopping", e.patience},
          {"monitor", name(e.monitor)},
          {"min_delta", e.min_delta},
          {"augment", augment_to_json(c.augment)},
          {"label_smoothing", c.label_smoothing},
          {"batch", c.batch},
          {"epochs", c.epochs},
          {"train_images", c.train_images},
          {"validation_split", c.validation_split},
          {"seed", c.seed},
          {"shuffle", c.shuffle},
          {"threads", c.threads},
          {"shards", c.shards},
          {"workers", c.workers}});
  return j;
}

TrainConfig config_from_json(const nlohmann::json& j) {
  TrainConfig c;
  c.model = model_spec_from_json(j);
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
  ScheduleOptions& s = c.schedule;
  s.kind = parse_schedule(j.at("lr_schedule").get<std::string>());
  s.warmup_epochs = j.at("warmup_epochs").get<std::size_t>();
  s.step_epochs = j.at("lr_step_epochs").get<std::size_t>();
  s.gamma = j.at("lr_gamma").get<double>();
  s.lr_min = j.at("lr_min").get<double>();
  s.plateau_patience = j.at("plateau_patience").get<std::size_t>();
  EarlyStoppingOptions& e = c.early_stopping;
  e.patience = j.at("early_stopping").get<std::size_t>();
  e.monitor = parse_monitor(j.at("monitor").get<std::string>());
  e.min_delta = j.at("min_delta").get<double>();
  c.batch = j.at("batch").get<std::size_t>();
  c.epochs = j.at("epochs").get<std::size_t>();
  c.validation_split = j.at("validation_split").get<double>();
  c.seed = j.at("seed").get<std::uint64_t>();
  c.shuffle = j.at("shuffle").get<bool>();
  c.threads = j.at("threads").get<int>();
  // Runs saved before batches had shards computed each batch whole.
  c.shards = j.value("shards", std::size_t{1});
  c.workers = j.at("workers").get<int>();
  // Runs saved before distortions and label smoothing had neither.
  if (j.contains("augment")) c.augment = augment_from_json(j.at("augment"));
  c.label_smoothing = j.value("label_smoothing", 0.0);
  c.train_images = j.value("train_images", std::size_t{0});
  c.validate();
  return c;
}

nlohmann::json epochs_to_json(const std::vector<EpochRecord>& epochs) {
  nlohmann::json rows = nlohmann::json::array();
  for (const EpochRecord& e : epochs) {
    rows.push_back({{"epoch", e.epoch},
                    {"loss", e.loss},
                    {"accuracy", e.accuracy},
                    {"val_loss", optional_number(e.val_loss)},
                    {"val_accuracy", optional_number(e.val_accuracy)},
                    {"lr", e.lr},
                    {"seconds", e.seconds}});
  }
  return rows;
}

std::vector<EpochRecord> epochs_from_json(const nlohmann::json& rows) {
  std::vector<EpochRecord> epochs;
  for (const auto& row : rows) {
    EpochRecord e;
    e.epoch = row.at("epoch").get<std::size_t>();
    e.loss = row.at("loss").get<double>();
    e.accuracy = row.at("accuracy").get<double>();
    e.val_loss = number_or_null(row, "val_loss");
    e.val_accuracy = number_or_null(row, "val_accuracy");
    e.lr = row.value("lr", 0.0);
    e.seconds = row.value("seconds", 0.0);
    epochs.push_back(e);
  }
  return epochs;
}

std::string describe(const nlohmann::json::exception& e) {
  if (const auto* parse = dynamic_cast<const nlohmann::json::parse_error*>(&e)) {
    return fmt::format("not valid JSON at byte {}", parse->byte);
  }
  const std::string text = e.what();
  const std::size_t tag_end = text.find("] ");
  return tag_end == std::string::npos ? text : text.substr(tag_end + 2);
}

nlohmann::json evaluation_to_json(const Evaluation& e) {
  nlohmann::json per_class = nlohmann::json::array();
  for (const auto& accuracy : e.per_class_accuracy) per_class.push_back(optional_number(accuracy));
  return {{"n", e.n},
          {"accuracy", e.accuracy},
          {"standard_error", e.standard_error},
          {"loss", e.loss},
          {"per_class", per_class},
          {"confusion", e.confusion}};
}

}  // namespace bpnet
