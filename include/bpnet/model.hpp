// A model: an ordered list of layers built from a ModelSpec, and the three
// flat buffers they view: parameters, gradients, and non-trained buffers
// (BatchNorm's running statistics). zero_grad, optimizers, checkpoints and
// model files are single loops over those spans.
//
// What a trained model *is* lives here; what one forward pass *needs*
// (activations, scratch) lives in a Workspace. Running a model is const, so
// any number of threads can use one model at once, each with its own
// workspace (a Predictor, predictor.hpp, bundles the two).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "bpnet/aligned_vector.hpp"
#include "bpnet/layers.hpp"
#include "bpnet/spec.hpp"
#include "bpnet/tensor.hpp"

namespace bpnet {

// Which training step a training-mode pass belongs to: dropout masks are
// drawn from the stream (seed, step, layer index), at the rows of the whole
// batch that this pass covers (first_row onwards: a shard's offset).
struct TrainingStep {
  std::uint64_t seed = 0;
  std::uint64_t step = 0;
  std::size_t first_row = 0;
};

// The memory of one forward (and backward) pass: each layer's output and
// scratch, and the buffers back-propagation passes gradients through.
// Reused across calls; it grows to the largest batch seen and no further.
template <typename T>
struct Workspace {
  std::vector<Matrix<T>> outputs;         // outputs[i]: (B, width of layer i); (B, 0) for a Linear whose ReLU runs inside it
  std::vector<std::vector<T>> scratch;    // scratch[i]: what layer i keeps for backward
  std::vector<LayerContext<T>> contexts;  // the context each layer's forward saw
  Matrix<T> grad_in, grad_out;            // ping-pong dL/d(activation)
  std::size_t depth = 0;                  // layers run by the last forward
};

template <typename T>
class Model {
 public:
  // Throws ConfigError if the spec is invalid (spec.inputs must be set).
  // Parameters start at zero and buffers at their initial values; call
  // initialize() or copy saved parameters in.
  explicit Model(const ModelSpec& spec);
  Model(const Model&) = delete;  // layers point into our own buffers
  Model& operator=(const Model&) = delete;

  const ModelSpec& spec() const { return spec_; }
  std::size_t inputs() const { return spec_.inputs; }
  std::size_t classes() const { return layers_.back()->out_features(); }
  std::size_t depth() const { return layers_.size(); }
  const Layer<T>& layer(std::size_t i) const { return *layers_[i]; }

  std::span<T> parameters() { return params_; }
  std::span<const T> parameters() const { return params_; }
  std::span<T> gradients() { return grads_; }
  std::span<const T> gradients() const { return grads_; }
  std::span<T> buffers() { return buffers_; }
  std::span<const T> buffers() const { return buffers_; }
  void zero_grad();
  // Initialises every layer in order from `rng` (Linear layers by `init`).
  void initialize(Init init, Rng& rng);

  // How many layers feed the loss: cross-entropy takes logits, so a trailing
  // Softmax is skipped during training (it is fused into the loss).
  std::size_t loss_depth() const;
  // What the last layer's rows are: probabilities, log-probabilities or logits.
  Output output_kind() const;

  // Eval mode: runs layers [0, depth) on x: (B, inputs) and returns the last
  // output, valid until the workspace is used again. Throws ConfigError if x
  // is not `inputs()` wide.
  ConstMatrixView<T> forward(Workspace<T>& ws, ConstMatrixView<T> x, std::size_t depth) const;
  ConstMatrixView<T> forward(Workspace<T>& ws, ConstMatrixView<T> x) const { return forward(ws, x, depth()); }
  // The same from layer `first` on (first < depth): x is what layers
  // [0, first) give, (B, layer first - 1's width), computed by the caller
  // another way (evaluate's first layer on pixel bytes). Throws ConfigError
  // if x is not that wide.
  ConstMatrixView<T> forward_from(Workspace<T>& ws, ConstMatrixView<T> x, std::size_t first, std::size_t depth) const;

  // Training mode: the same with dropout drawn for `step` and batch
  // statistics. Changes nothing in the model: update_buffers() folds the
  // statistics in.
  ConstMatrixView<T> forward_train(Workspace<T>& ws, ConstMatrixView<T> x, std::size_t depth,
                                   const TrainingStep& step) const;
  // Folds the batch statistics of the workspace's last training forward into
  // the running buffers (BatchNorm1d).
  void update_buffers(const Workspace<T>& ws);

  // Back-propagates d_out = dL/d(last output of the workspace's forward), for
  // the same x, adding every parameter gradient into `grads` (laid out as
  // parameters()) or writing over it: the model's own gradients(), or a
  // batch shard's buffer. Writing over it covers the layers up to the
  // workspace's depth: the whole model, or all but a parameter-free tail.
  void backward(Workspace<T>& ws, ConstMatrixView<T> x, ConstMatrixView<T> d_out, std::span<T> grads,
                GradientWrite write = GradientWrite::add) const;
  void backward(Workspace<T>& ws, ConstMatrixView<T> x, ConstMatrixView<T> d_out,
                GradientWrite write = GradientWrite::add) {
    backward(ws, x, d_out, grads_, write);
  }

 private:
  ConstMatrixView<T> run(Workspace<T>& ws, ConstMatrixView<T> x, std::size_t first, std::size_t depth, Mode mode,
                         const TrainingStep& step) const;

  ModelSpec spec_;
  AlignedVector<T> params_;
  AlignedVector<T> grads_;
  AlignedVector<T> buffers_;
  std::vector<std::unique_ptr<Layer<T>>> layers_;
  std::vector<std::size_t> param_offsets_;  // where layer i's parameters start
  // A ReLU next to a Linear runs inside the Linear's products, tile by tile
  // (Linear::forward_then_relu, backward_input_through_relu): no pass of its
  // own over the activations. [i]: layer i, when it is a Linear with a ReLU
  // right after it (before_relu_) or right before it (after_relu_); else null.
  std::vector<const Linear<T>*> linear_before_relu_, linear_after_relu_;
};

}  // namespace bpnet
