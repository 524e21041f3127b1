// Layers: the building blocks of a network. Shapes (see tensor.hpp):
//   x: (B, in)  y: (B, out)  dy: (B, out)  dx: (B, in)
// A layer holds views into the network's flat parameter and gradient
// buffers; it owns no parameters of its own. Forward and backward take the
// same arguments in the same order. The input gradient (backward_input)
// overwrites dx; the parameter gradient accumulates (+=), and zeroing it is
// the network's explicit zero_grad().
//
// Layers are templates on the scalar so that the very same code runs in
// float for training and in double for the finite-difference checks; both
// are instantiated in the library, nothing heavy lives in this header.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "bpnet/random.hpp"
#include "bpnet/spec.hpp"
#include "bpnet/tensor.hpp"

namespace bpnet {

template <typename T>
class Layer {
 public:
  virtual ~Layer() = default;

  // PyTorch's class name: "Linear", "ReLU", "LogSoftmax"...
  virtual std::string_view type() const = 0;
  virtual std::size_t in_features() const = 0;
  virtual std::size_t out_features() const = 0;
  virtual std::size_t parameter_count() const { return 0; }

  // Points the layer at its parameter_count()-long slices of the flat buffers.
  virtual void bind(std::span<T> /*params*/, std::span<T> /*grads*/) {}
  virtual void initialize(Init /*init*/, Rng& /*rng*/) {}

  // y = f(x).
  virtual void forward(ConstMatrixView<T> x, MatrixView<T> y) const = 0;
  // dx = dL/dx from dy = dL/dy; x and y are the forward pass's input and output.
  virtual void backward_input(ConstMatrixView<T> x, ConstMatrixView<T> y, ConstMatrixView<T> dy,
                              MatrixView<T> dx) const = 0;
  // grads += dL/dparams for this batch.
  virtual void accumulate_parameter_gradient(ConstMatrixView<T> /*x*/,
                                             ConstMatrixView<T> /*dy*/) {}
};

// y = x W^T + b with W: (out, in), b: (out), PyTorch's layout and meaning.
// Parameters are stored W first, then b.
template <typename T>
class Linear final : public Layer<T> {
 public:
  Linear(std::size_t in, std::size_t out) : in_(in), out_(out) {}

  std::string_view type() const override { return "Linear"; }
  std::size_t in_features() const override { return in_; }
  std::size_t out_features() const override { return out_; }
  std::size_t parameter_count() const override { return out_ * in_ + out_; }
  void bind(std::span<T> params, std::span<T> grads) override;
  void initialize(Init init, Rng& rng) override;
  void forward(ConstMatrixView<T> x, MatrixView<T> y) const override;
  void backward_input(ConstMatrixView<T> x, ConstMatrixView<T> y, ConstMatrixView<T> dy,
                      MatrixView<T> dx) const override;
  void accumulate_parameter_gradient(ConstMatrixView<T> x, ConstMatrixView<T> dy) override;

  MatrixView<T> weight() const { return {weight_, out_, in_}; }
  std::span<T> bias() const { return {bias_, out_}; }

 private:
  std::size_t in_, out_;
  T* weight_ = nullptr;       // (out, in)
  T* bias_ = nullptr;         // (out)
  T* weight_grad_ = nullptr;  // (out, in)
  T* bias_grad_ = nullptr;    // (out)
};

// Shape-preserving layers without parameters: in_features() == out_features().
template <typename T>
class ParameterFreeLayer : public Layer<T> {
 public:
  explicit ParameterFreeLayer(std::size_t width) : width_(width) {}
  std::size_t in_features() const override { return width_; }
  std::size_t out_features() const override { return width_; }

 private:
  std::size_t width_;
};

// y = 1 / (1 + e^-x). Saturates ("paralysed" units) for large |x|.
template <typename T>
class Sigmoid final : public ParameterFreeLayer<T> {
 public:
  using ParameterFreeLayer<T>::ParameterFreeLayer;
  std::string_view type() const override { return "Sigmoid"; }
  void forward(ConstMatrixView<T> x, MatrixView<T> y) const override;
  void backward_input(ConstMatrixView<T> x, ConstMatrixView<T> y, ConstMatrixView<T> dy,
                      MatrixView<T> dx) const override;
};

// y = tanh(x).
template <typename T>
class Tanh final : public ParameterFreeLayer<T> {
 public:
  using ParameterFreeLayer<T>::ParameterFreeLayer;
  std::string_view type() const override { return "Tanh"; }
  void forward(ConstMatrixView<T> x, MatrixView<T> y) const override;
  void backward_input(ConstMatrixView<T> x, ConstMatrixView<T> y, ConstMatrixView<T> dy,
                      MatrixView<T> dx) const override;
};

// y = max(0, x); the gradient at exactly 0 is taken as 0, as PyTorch does.
template <typename T>
class ReLU final : public ParameterFreeLayer<T> {
 public:
  using ParameterFreeLayer<T>::ParameterFreeLayer;
  std::string_view type() const override { return "ReLU"; }
  void forward(ConstMatrixView<T> x, MatrixView<T> y) const override;
  void backward_input(ConstMatrixView<T> x, ConstMatrixView<T> y, ConstMatrixView<T> dy,
                      MatrixView<T> dx) const override;
};

// Row-wise y_i = e^x_i / sum_j e^x_j.
template <typename T>
class Softmax final : public ParameterFreeLayer<T> {
 public:
  using ParameterFreeLayer<T>::ParameterFreeLayer;
  std::string_view type() const override { return "Softmax"; }
  void forward(ConstMatrixView<T> x, MatrixView<T> y) const override;
  void backward_input(ConstMatrixView<T> x, ConstMatrixView<T> y, ConstMatrixView<T> dy,
                      MatrixView<T> dx) const override;
};

// Row-wise y_i = x_i - log sum_j e^x_j (log-probabilities, for NLLLoss).
template <typename T>
class LogSoftmax final : public ParameterFreeLayer<T> {
 public:
  using ParameterFreeLayer<T>::ParameterFreeLayer;
  std::string_view type() const override { return "LogSoftmax"; }
  void forward(ConstMatrixView<T> x, MatrixView<T> y) const override;
  void backward_input(ConstMatrixView<T> x, ConstMatrixView<T> y, ConstMatrixView<T> dy,
                      MatrixView<T> dx) const override;
};

}  // namespace bpnet
