#include "bpnet/presets.hpp"

#include <fmt/format.h>

#include "bpnet/error.hpp"

namespace bpnet {

std::vector<std::string_view> preset_names() { return {"torch-seed", "keras-seed"}; }

TrainConfig preset(std::string_view name) {
  TrainConfig config;
  if (name == "torch-seed") {
    config.model.layer_sizes = {784, 128, 64, 10};
    config.model.activation = Activation::relu;
    config.model.output = Output::log_softmax;
    config.model.loss = LossKind::nll;
    config.model.normalize = Normalize::torch;
    config.init = Init::torch;
    config.optimizer = {.kind = OptimizerKind::sgd, .lr = 0.003, .momentum = 0.9};
    config.batch = 128;
    config.epochs = 15;
    config.validation_split = 0.0;
    return config;
  }
  if (name == "keras-seed") {
    config.model.layer_sizes = {784, 128, 10};
    config.model.activation = Activation::relu;
    config.model.output = Output::softmax;
    config.model.loss = LossKind::cross_entropy;
    config.model.normalize = Normalize::unit;
    config.init = Init::xavier;
    config.optimizer = {
        .kind = OptimizerKind::adam, .lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-7};
    config.batch = 64;
    config.epochs = 30;
    config.validation_split = 0.2;
    return config;
  }
  throw ConfigError(fmt::format("unknown preset '{}' (choose one of: {})", name,
                                fmt::join(preset_names(), ", ")));
}

}  // namespace bpnet
