#include "bpnet/presets.hpp"

#include <fmt/format.h>

#include "bpnet/error.hpp"

namespace bpnet {

std::vector<std::string_view> preset_names() { return {"torch-seed", "keras-seed"}; }

LayerShorthand preset_shorthand(std::string_view name) {
  if (name == "torch-seed") return {.sizes = {784, 128, 64, 10}, .activation = Activation::relu, .output = Output::log_softmax};
  if (name == "keras-seed") return {.sizes = {784, 128, 10}, .activation = Activation::relu, .output = Output::softmax};
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
  }
  return config;
}

}  // namespace bpnet
