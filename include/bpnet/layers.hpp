// Layers: the building blocks of a model. Shapes (see tensor.hpp):
//   x: (B, in)  y: (B, out)  dy: (B, out)  dx: (B, in)
// A layer holds views into the model's flat buffers of parameters and of
// non-trained state (BatchNorm's running statistics); it owns none of its
// own. Forward and backward take the same arguments in the same order, each
// with the context of the pass. The input gradient (backward_input)
// overwrites dx; the parameter gradient goes into the gradient slice it is
// handed (the model's own, or one batch shard's), added to what is there or
// written over it (GradientWrite).
//
// forward() is const: it never changes the model, so many threads can run one
// model at once, each with its own scratch. What a training pass changes in
// the model (running statistics) happens in update_buffers(), called by the
// model after a training-mode forward.
//
// Layers are templates on the scalar so that the very same code runs in
// float for training and in double for the finite-difference checks; both
// are instantiated in the library, nothing heavy lives in this header.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "bpnet/random.hpp"
#include "bpnet/spec.hpp"
#include "bpnet/tensor.hpp"

namespace bpnet {

// train: Dropout drops, BatchNorm1d uses batch statistics. eval: Dropout is
// the identity, BatchNorm1d uses its running statistics.
enum class Mode { train, eval };

// What a parameter gradient does to its buffer: add to it (a sum over
// several batches: full-batch gd's chunks), or write over it (a step of its
// own: the buffer needs no zeroing first, and the weight-gradient product
// does not read it).
enum class GradientWrite { add, overwrite };

// What one layer's forward and backward of one batch may use besides x and y.
template <typename T>
struct LayerContext {
  Mode mode = Mode::eval;
  RandomStream random;             // this layer's stream for this step (dropout masks)
  std::vector<T>* scratch = nullptr;  // kept from forward to backward, owned by the workspace
  std::size_t first_row = 0;       // row 0's index in the whole batch (a shard's offset)
  bool input_is_data = false;      // the layer's input is the batch itself, whose background a Linear may skip
  float data_background = 0;       // what the data's zero pixels are in the batch (torch's normalisation: -1)
};

template <typename T>
class Layer {
 public:
  virtual ~Layer() = default;

  // PyTorch's class name: "Linear", "ReLU", "LogSoftmax"...
  virtual std::string_view type() const = 0;
  // The type and attributes this layer was made from (its JSON form).
  virtual LayerSpec spec() const { return {std::string(type()), {}}; }
  virtual std::size_t in_features() const = 0;
  virtual std::size_t out_features() const = 0;
  virtual std::size_t parameter_count() const { return 0; }
  virtual std::size_t buffer_count() const { return 0; }

  // Points the layer at its parameter_count()-long slice of the parameters
  // and its buffer_count()-long slice of the buffers.
  virtual void bind(std::span<T> /*params*/, std::span<T> /*buffers*/) {}
  // Sets parameters (and buffers) to their initial values.
  virtual void initialize(Init /*init*/, Rng& /*rng*/) {}

  // y = f(x).
  virtual void forward(const LayerContext<T>& ctx, ConstMatrixView<T> x, MatrixView<T> y) const = 0;
  // dx = dL/dx from dy = dL/dy; x and y are the forward pass's input and
  // output, ctx the same context (and scratch) that forward saw.
  virtual void backward_input(const LayerContext<T>& ctx, ConstMatrixView<T> x, ConstMatrixView<T> y,
                              ConstMatrixView<T> dy, MatrixView<T> dx) const = 0;
  // grads += (or =) dL/dparams for this batch; grads is parameter_count()
  // long, laid out as the parameters.
  virtual void parameter_gradient(const LayerContext<T>& /*ctx*/, ConstMatrixView<T> /*x*/,
                                  ConstMatrixView<T> /*dy*/, std::span<T> /*grads*/,
                                  GradientWrite /*write*/) const {}
  // After a training-mode forward: fold what it measured into the buffers.
  virtual void update_buffers(const LayerContext<T>& /*ctx*/) {}
};

// y = x W^T + b with W: (out, in), b: (out), PyTorch's layout and meaning.
// Parameters are stored W first, then b.
template <typename T>
class Linear final : public Layer<T> {
 public:
  Linear(std::size_t in, std::size_t out) : in_(in), out_(out) {}

  std::string_view type() const override { return "Linear"; }
  LayerSpec spec() const override;
  std::size_t in_features() const override { return in_; }
  std::size_t out_features() const override { return out_; }
  std::size_t parameter_count() const override { return out_ * in_ + out_; }
  void bind(std::span<T> params, std::span<T> buffers) override;
  void initialize(Init init, Rng& rng) override;
  void forward(const LayerContext<T>& ctx, ConstMatrixView<T> x, MatrixView<T> y) const override;
  void backward_input(const LayerContext<T>& ctx, ConstMatrixView<T> x, ConstMatrixView<T> y,
                      ConstMatrixView<T> dy, MatrixView<T> dx) const override;
  void parameter_gradient(const LayerContext<T>& ctx, ConstMatrixView<T> x, ConstMatrixView<T> dy,
                          std::span<T> grads, GradientWrite write) const override;

  // The forward and then a ReLU's: y = max(x W^T + b, 0), done to each tile
  // of the product as it is stored (Model runs a ReLU right after a Linear
  // this way; the product itself is never written).
  void forward_then_relu(const LayerContext<T>& ctx, ConstMatrixView<T> x, MatrixView<T> y) const;
  // backward_input and then the backward of the ReLU whose output x is:
  // dx = dL/d(that ReLU's input) = dy W where x > 0, else 0 (Model
  // back-propagates through a ReLU right before a Linear this way).
  void backward_input_through_relu(const LayerContext<T>& ctx, ConstMatrixView<T> x, ConstMatrixView<T> dy,
                                   MatrixView<T> dx) const;

  MatrixView<T> weight() const { return {weight_, out_, in_}; }
  std::span<T> bias() const { return {bias_, out_}; }

 private:
  // The products, with or without the ReLU's part.
  void forward_product(const LayerContext<T>& ctx, ConstMatrixView<T> x, MatrixView<T> y, bool relu) const;
  void input_gradient(ConstMatrixView<T> dy, MatrixView<T> dx, const T* relu_output) const;

  std::size_t in_, out_;
  T* weight_ = nullptr;       // (out, in)
  T* bias_ = nullptr;         // (out)
};

// Shape-preserving layers: in_features() == out_features().
template <typename T>
class ShapePreservingLayer : public Layer<T> {
 public:
  explicit ShapePreservingLayer(std::size_t width) : width_(width) {}
  std::size_t in_features() const override { return width_; }
  std::size_t out_features() const override { return width_; }

 private:
  std::size_t width_;
};

// Declares a parameter-free, shape-preserving layer named NAME.
#define BPNET_SIMPLE_LAYER(NAME)                                                                     \
  template <typename T>                                                                              \
  class NAME final : public ShapePreservingLayer<T> {                                                \
   public:                                                                                           \
    using ShapePreservingLayer<T>::ShapePreservingLayer;                                             \
    std::string_view type() const override { return #NAME; }                                         \
    void forward(const LayerContext<T>& ctx, ConstMatrixView<T> x, MatrixView<T> y) const override;  \
    void backward_input(const LayerContext<T>& ctx, ConstMatrixView<T> x, ConstMatrixView<T> y,      \
                        ConstMatrixView<T> dy, MatrixView<T> dx) const override;                     \
  }

// y = 1 / (1 + e^-x). Saturates ("paralysed" units) for large |x|.
BPNET_SIMPLE_LAYER(Sigmoid);
// y = tanh(x).
BPNET_SIMPLE_LAYER(Tanh);
// y = max(0, x); the gradient at exactly 0 is taken as 0, as PyTorch does.
BPNET_SIMPLE_LAYER(ReLU);
// y = x Phi(x) = x/2 (1 + erf(x / sqrt 2)): PyTorch's GELU, approximate='none'.
BPNET_SIMPLE_LAYER(GELU);
// Row-wise y_i = e^x_i / sum_j e^x_j.
BPNET_SIMPLE_LAYER(Softmax);
// Row-wise y_i = x_i - log sum_j e^x_j (log-probabilities, for NLLLoss).
BPNET_SIMPLE_LAYER(LogSoftmax);

#undef BPNET_SIMPLE_LAYER

// y = x for x > 0, slope * x otherwise (PyTorch's negative_slope, default 0.01).
template <typename T>
class LeakyReLU final : public ShapePreservingLayer<T> {
 public:
  LeakyReLU(std::size_t width, double slope) : ShapePreservingLayer<T>(width), slope_(static_cast<T>(slope)) {}
  std::string_view type() const override { return "LeakyReLU"; }
  LayerSpec spec() const override;
  void forward(const LayerContext<T>& ctx, ConstMatrixView<T> x, MatrixView<T> y) const override;
  void backward_input(const LayerContext<T>& ctx, ConstMatrixView<T> x, ConstMatrixView<T> y,
                      ConstMatrixView<T> dy, MatrixView<T> dx) const override;

 private:
  T slope_;
};

// Inverted dropout: in training each entry is zeroed with probability p and
// the survivors scaled by 1/(1-p), so eval mode is the identity. The mask of
// entry (r, j) is drawn from ctx.random at index (ctx.first_row + r) * width
// + j, so a batch split into shards drops what the whole batch would; it is
// kept in scratch (B, width) for backward.
template <typename T>
class Dropout final : public ShapePreservingLayer<T> {
 public:
  Dropout(std::size_t width, double p) : ShapePreservingLayer<T>(width), p_(p) {}
  std::string_view type() const override { return "Dropout"; }
  LayerSpec spec() const override;
  void forward(const LayerContext<T>& ctx, ConstMatrixView<T> x, MatrixView<T> y) const override;
  void backward_input(const LayerContext<T>& ctx, ConstMatrixView<T> x, ConstMatrixView<T> y,
                      ConstMatrixView<T> dy, MatrixView<T> dx) const override;

 private:
  double p_;
};

// Per-feature normalisation over the batch (PyTorch's BatchNorm1d on (B, C)):
//   train: y = (x - mean_B) / sqrt(var_B + eps) * weight + bias, with the
//          biased batch variance; then running = (1 - momentum) running +
//          momentum * batch statistic (the unbiased variance for running_var)
//   eval:  the same with running_mean and running_var.
// Parameters: weight (C), bias (C), starting at 1 and 0. Buffers:
// running_mean (C), running_var (C), starting at 0 and 1. Training needs at
// least 2 rows per batch. Scratch (3, C), written by forward: the mean and
// 1/sqrt(var + eps) that normalised this pass (the batch's in training, the
// running ones in eval), and the unbiased batch variance.
template <typename T>
class BatchNorm1d final : public ShapePreservingLayer<T> {
 public:
  BatchNorm1d(std::size_t width, double eps, double momentum)
      : ShapePreservingLayer<T>(width), eps_(eps), momentum_(momentum) {}
  std::string_view type() const override { return "BatchNorm1d"; }
  LayerSpec spec() const override;
  std::size_t parameter_count() const override { return 2 * this->out_features(); }
  std::size_t buffer_count() const override { return 2 * this->out_features(); }
  void bind(std::span<T> params, std::span<T> buffers) override;
  void initialize(Init init, Rng& rng) override;
  void forward(const LayerContext<T>& ctx, ConstMatrixView<T> x, MatrixView<T> y) const override;
  void backward_input(const LayerContext<T>& ctx, ConstMatrixView<T> x, ConstMatrixView<T> y,
                      ConstMatrixView<T> dy, MatrixView<T> dx) const override;
  void parameter_gradient(const LayerContext<T>& ctx, ConstMatrixView<T> x, ConstMatrixView<T> dy,
                          std::span<T> grads, GradientWrite write) const override;
  void update_buffers(const LayerContext<T>& ctx) override;

 private:
  double eps_, momentum_;
  T* weight_ = nullptr;  // (C)
  T* bias_ = nullptr;    // (C)
  T* running_mean_ = nullptr;  // (C)
  T* running_var_ = nullptr;   // (C)
};

}  // namespace bpnet
