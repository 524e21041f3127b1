// A feed-forward network built from a ModelSpec: Linear layers with the
// hidden activation between them and the output layer at the end. It owns
// one flat parameter buffer and one flat gradient buffer; every layer holds
// views into them, so zero_grad, optimizers, checkpoints and model files are
// single loops over a span.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "bpnet/layers.hpp"
#include "bpnet/spec.hpp"
#include "bpnet/tensor.hpp"

namespace bpnet {

template <typename T>
class Network {
 public:
  // Throws ConfigError if the spec is invalid. Parameters start at zero;
  // call initialize() or copy saved parameters in.
  explicit Network(const ModelSpec& spec);
  Network(const Network&) = delete;  // layers point into our own buffers
  Network& operator=(const Network&) = delete;

  const ModelSpec& spec() const { return spec_; }
  std::size_t depth() const { return layers_.size(); }
  const Layer<T>& layer(std::size_t i) const { return *layers_[i]; }

  std::span<T> parameters() { return params_; }
  std::span<const T> parameters() const { return params_; }
  std::span<T> gradients() { return grads_; }
  void zero_grad();
  void initialize(Init init, Rng& rng);

  // How many layers feed the loss: cross-entropy takes logits, so a trailing
  // Softmax is skipped during training (it is fused into the loss).
  std::size_t loss_depth() const;

  // Runs layers [0, depth) on x: (B, inputs) and returns the last output,
  // valid until the next call. Keeps the activations backward() needs.
  ConstMatrixView<T> forward(ConstMatrixView<T> x, std::size_t depth);
  ConstMatrixView<T> forward(ConstMatrixView<T> x) { return forward(x, depth()); }

  // Back-propagates d_out = dL/d(last output of the previous forward), for the
  // same x, accumulating every parameter gradient.
  void backward(ConstMatrixView<T> x, ConstMatrixView<T> d_out);

 private:
  ModelSpec spec_;
  std::vector<T> params_;
  std::vector<T> grads_;
  std::vector<std::unique_ptr<Layer<T>>> layers_;
  std::vector<Matrix<T>> outputs_;  // outputs_[i]: (B, layer i out)
  Matrix<T> grad_in_, grad_out_;    // ping-pong buffers for dL/d(activation)
  std::size_t forward_depth_ = 0;
};

}  // namespace bpnet
