#include "bpnet/optim.hpp"

#include <fmt/format.h>

#include <cmath>

#include "bpnet/error.hpp"

namespace bpnet {

std::string_view name(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::gd: return "gd";
    case OptimizerKind::sgd: return "sgd";
    case OptimizerKind::adam: return "adam";
  }
  return "?";
}

OptimizerKind parse_optimizer(std::string_view text) {
  for (auto kind : {OptimizerKind::gd, OptimizerKind::sgd, OptimizerKind::adam}) {
    if (name(kind) == text) return kind;
  }
  throw ConfigError(fmt::format("unknown optimizer '{}' (choose one of: gd, sgd, adam)", text));
}

void OptimizerOptions::validate() const {
  auto require = [](bool ok, std::string_view message, double value) {
    if (!ok) throw ConfigError(fmt::format("{} (got {})", message, value));
  };
  require(std::isfinite(lr) && lr > 0 && lr <= 1e3, "--lr must be in (0, 1000]", lr);
  require(momentum >= 0 && momentum < 1, "--momentum must be in [0, 1)", momentum);
  require(!nesterov || momentum > 0, "--nesterov needs --momentum > 0", momentum);
  require(beta1 >= 0 && beta1 < 1, "--beta1 must be in [0, 1)", beta1);
  require(beta2 >= 0 && beta2 < 1, "--beta2 must be in [0, 1)", beta2);
  require(std::isfinite(eps) && eps > 0, "--eps must be > 0", eps);
  require(std::isfinite(weight_decay) && weight_decay >= 0, "--weight-decay must be >= 0",
          weight_decay);
}

void Sgd::step(std::span<float> params, std::span<const float> grads) {
  const auto lr = static_cast<float>(options_.lr);
  const auto mu = static_cast<float>(options_.momentum);
  const auto decay = static_cast<float>(options_.weight_decay);
  if (mu > 0 && velocity_.size() != params.size()) velocity_.assign(params.size(), 0.0f);
  for (std::size_t i = 0; i < params.size(); ++i) {
    float g = grads[i] + decay * params[i];
    if (mu > 0) {
      // PyTorch starts the buffer at g itself; mu * 0 + g is the same thing.
      velocity_[i] = mu * velocity_[i] + g;
      g = options_.nesterov ? g + mu * velocity_[i] : velocity_[i];
    }
    params[i] -= lr * g;
  }
  ++steps_;
}

void Adam::step(std::span<float> params, std::span<const float> grads) {
  const std::size_t n = params.size();
  if (moments_.size() != 2 * n) moments_.assign(2 * n, 0.0f);
  ++steps_;
  const auto b1 = static_cast<float>(options_.beta1);
  const auto b2 = static_cast<float>(options_.beta2);
  const auto decay = static_cast<float>(options_.weight_decay);
  const auto eps = static_cast<float>(options_.eps);
  // Bias corrections in double: b^t for large t underflows gracefully there.
  const double t = static_cast<double>(steps_);
  const auto step_size = static_cast<float>(options_.lr / (1.0 - std::pow(options_.beta1, t)));
  const auto root_correction = static_cast<float>(std::sqrt(1.0 - std::pow(options_.beta2, t)));
  float* m = moments_.data();
  float* v = moments_.data() + n;
  for (std::size_t i = 0; i < n; ++i) {
    const float g = grads[i] + decay * params[i];
    m[i] = b1 * m[i] + (1.0f - b1) * g;
    v[i] = b2 * v[i] + (1.0f - b2) * g * g;
    params[i] -= step_size * m[i] / (std::sqrt(v[i]) / root_correction + eps);
  }
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizerOptions& options) {
  options.validate();
  if (options.kind == OptimizerKind::adam) return std::make_unique<Adam>(options);
  return std::make_unique<Sgd>(options);
}

}  // namespace bpnet
