#include "bpnet/presets.hpp"

#include <fmt/format.h>

#include "bpnet/error.hpp"

namespace bpnet {

std::vector<std::string_view> preset_names() {
  return {"torch-seed", "keras-seed", "simard-800", "simard-800-elastic", "best"};
}

LayerShorthand preset_shorthand(std::string_view name) {
  if (name == "torch-seed") return {.sizes = {784, 128, 64, 10}, .activation = Activation::relu, .output = Output::log_softmax};
  if (name == "keras-seed") return {.sizes = {784, 128, 10}, .activation = Activation::relu, .output = Output::softmax};
  if (name == "simard-800" || name == "simard-800-elastic") {
    return {.sizes = {784, 800, 10}, .activation = Activation::relu, .output = Output::linear};
  }
  if (name == "best") {
    return {.sizes = {784, 1024, 1024, 10}, .activation = Activation::relu, .output = Output::linear,
            .dropout = 0.2, .batchnorm = true};
  }
  throw ConfigError(fmt::format("unknown preset '{}' (choose one of: {})", name, fmt::join(preset_names(), ", ")));
}

TrainConfig preset(std::string_view name) {
  TrainConfig config;
  const LayerShorthand shorthand = preset_shorthand(name);
  if (name == "torch-seed") {
    config.model = expand(shorthand, LossKind::nll, Normalize::torch);
    config.init = Init::torch;
    config.optimizer = {.kind = OptimizerKind::sgd, .lr = 0.003, .momentum = 0.9};
    config.batch = 128;
    config.epochs = 15;
    config.validation_split = 0.0;
    return config;
  }
  if (name == "keras-seed") {
    config.model = expand(shorthand, LossKind::cross_entropy, Normalize::unit);
    config.init = Init::xavier;
    config.optimizer = {
        .kind = OptimizerKind::adam, .lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-7};
    config.batch = 64;
    config.epochs = 30;
    config.validation_split = 0.2;
    return config;
  }
  // The accuracy presets: cross-entropy on logits, pixels x/255.
  config.model = expand(shorthand, LossKind::cross_entropy, Normalize::unit);
  config.init = Init::torch;
  config.validation_split = 0.0;
  if (name == "simard-800" || name == "simard-800-elastic") {
    config.optimizer = {.kind = OptimizerKind::sgd, .lr = 0.05, .momentum = 0.9};
    config.schedule.kind = ScheduleKind::cosine;
    config.batch = 32;
    config.epochs = 30;
    if (name == "simard-800-elastic") {
      config.augment.kind = AugmentKind::elastic;  // Simard's sigma 4, alpha 34
      config.epochs = 200;
      config.workers = 1;
    }
    return config;
  }
  // best
  config.optimizer = {.kind = OptimizerKind::adam, .lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
  config.schedule.kind = ScheduleKind::cosine;
  // Ciresan et al. 2010's elastic field (sigma 6, alpha 36), smoother than
  // Simard's: 99.47% against 99.37% on the validation split (README).
  config.augment = {.kind = AugmentKind::both, .elastic_sigma = 6, .elastic_alpha = 36};
  config.label_smoothing = 0.1;
  config.batch = 128;
  config.epochs = 500;
  config.workers = 1;
  return config;
}

}  // namespace bpnet
