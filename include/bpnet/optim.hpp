// Optimizers: one loop over the network's flat parameter and gradient spans.
// PyTorch's update rules, so numbers carry over from PyTorch code.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "bpnet/aligned_vector.hpp"

namespace bpnet {

// gd: full-batch gradient descent: the SGD rule below, fed the exact gradient
// of the whole training set once per epoch (a batching policy of the trainer,
// not a rule of its own). sgd: mini-batch SGD.
enum class OptimizerKind { gd, sgd, adam };
std::string_view name(OptimizerKind);
OptimizerKind parse_optimizer(std::string_view);
// The usual learning rate of an optimizer's family, for when a recipe
// switches families without naming a rate: adam 1e-3 (PyTorch's and Keras'
// default), sgd and gd 0.01 (Keras' default; PyTorch has none).
double conventional_lr(OptimizerKind kind);

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::sgd;
  double lr = 0.003;           // base learning rate, in (0, 1000]; a schedule scales it
  double momentum = 0.0;       // gd/sgd, in [0, 1)
  bool nesterov = false;       // gd/sgd, needs momentum > 0
  double beta1 = 0.9;          // adam, in [0, 1)
  double beta2 = 0.999;        // adam, in [0, 1)
  double eps = 1e-8;           // adam, > 0 (Keras uses 1e-7, PyTorch 1e-8)
  double weight_decay = 0.0;   // L2 added to the gradient, >= 0

  // Throws ConfigError naming the bad option.
  void validate() const;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // params -= update(grads) with this step's learning rate (from a
  // schedule); both spans the same length on every call. Returns whether
  // every parameter is finite afterwards (checked as each is written, so the
  // trainer's divergence check costs no pass of its own).
  virtual bool step(std::span<float> params, std::span<const float> grads, double lr) = 0;
  // The optimizer's own state (momentum buffers, Adam moments), for checkpoints.
  virtual std::span<float> state() = 0;
  virtual std::uint64_t steps_taken() const = 0;
  // Puts back a state() and steps_taken() saved earlier (for resuming).
  virtual void restore(std::span<const float> state, std::uint64_t steps) = 0;
};

// v = momentum * v + g;  p -= lr * (nesterov ? g + momentum * v : v),
// with g = grad + weight_decay * p (torch.optim.SGD, dampening 0).
class Sgd final : public Optimizer {
 public:
  explicit Sgd(const OptimizerOptions& options) : options_(options) {}
  bool step(std::span<float> params, std::span<const float> grads, double lr) override;
  std::span<float> state() override { return velocity_; }
  std::uint64_t steps_taken() const override { return steps_; }
  void restore(std::span<const float> state, std::uint64_t steps) override {
    velocity_.assign(state.begin(), state.end());
    steps_ = steps;
  }

 private:
  OptimizerOptions options_;
  AlignedVector<float> velocity_;
  std::uint64_t steps_ = 0;
};

// m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  t += 1
// p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)   (torch.optim.Adam)
class Adam final : public Optimizer {
 public:
  explicit Adam(const OptimizerOptions& options) : options_(options) {}
  bool step(std::span<float> params, std::span<const float> grads, double lr) override;
  std::span<float> state() override { return moments_; }
  std::uint64_t steps_taken() const override { return steps_; }
  void restore(std::span<const float> state, std::uint64_t steps) override {
    moments_.assign(state.begin(), state.end());
    steps_ = steps;
  }

 private:
  OptimizerOptions options_;
  AlignedVector<float> moments_;  // first moments, then second moments
  std::uint64_t steps_ = 0;
};

std::unique_ptr<Optimizer> make_optimizer(const OptimizerOptions& options);

}  // namespace bpnet
