#include "bpnet/model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "bpnet/error.hpp"
#include "bpnet/layer_registry.hpp"
#include "bpnet/preprocess.hpp"
#include "kernels/kernel_threads.hpp"

namespace bpnet {

template <typename T>
Model<T>::Model(const ModelSpec& spec) : spec_(spec) {
  spec_.validate();
  std::size_t width = spec_.inputs;
  for (const LayerSpec& layer_spec : spec_.layers) {
    layers_.push_back(make_layer<T>(layer_spec, width));
    width = layers_.back()->out_features();
  }
  std::size_t param_total = 0, buffer_total = 0;
  for (const auto& layer : layers_) {
    param_total += layer->parameter_count();
    buffer_total += layer->buffer_count();
  }
  params_.assign(param_total, T(0));
  grads_.assign(param_total, T(0));
  buffers_.assign(buffer_total, T(0));
  std::size_t param_offset = 0, buffer_offset = 0;
  for (auto& layer : layers_) {
    const std::size_t p = layer->parameter_count(), b = layer->buffer_count();
    param_offsets_.push_back(param_offset);
    layer->bind(std::span<T>(params_).subspan(param_offset, p), std::span<T>(buffers_).subspan(buffer_offset, b));
    param_offset += p;
    buffer_offset += b;
  }
  linear_before_relu_.assign(layers_.size(), nullptr);
  linear_after_relu_.assign(layers_.size(), nullptr);
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const auto* linear = dynamic_cast<const Linear<T>*>(layers_[i].get());
    if (linear == nullptr) continue;
    if (i + 1 < layers_.size() && layers_[i + 1]->type() == "ReLU") linear_before_relu_[i] = linear;
    if (i > 0 && layers_[i - 1]->type() == "ReLU") linear_after_relu_[i] = linear;
  }
  // Buffers have fixed starting values (running variance 1); the layers
  // that have them draw nothing from the generator.
  Rng unused(0);
  for (auto& layer : layers_) {
    if (layer->buffer_count() > 0) layer->initialize(Init::torch, unused);
  }
}

template <typename T>
void Model<T>::zero_grad() {
  // Cut as the optimizer's update is: each kernel thread zeroes the part it
  // updates, from its own cache.
  for_each_parameter_piece(grads_.size(), [&](std::size_t begin, std::size_t end) {
    std::fill(grads_.begin() + begin, grads_.begin() + end, T(0));
  });
}

template <typename T>
void Model<T>::initialize(Init init, Rng& rng) {
  for (auto& layer : layers_) layer->initialize(init, rng);
}

template <typename T>
std::size_t Model<T>::loss_depth() const {
  const bool fused = spec_.loss == LossKind::cross_entropy && layers_.back()->type() == "Softmax";
  return fused ? depth() - 1 : depth();
}

template <typename T>
Output Model<T>::output_kind() const {
  const std::string_view last = layers_.back()->type();
  if (last == "Softmax") return Output::softmax;
  if (last == "LogSoftmax") return Output::log_softmax;
  return Output::linear;
}

template <typename T>
ConstMatrixView<T> Model<T>::run(Workspace<T>& ws, ConstMatrixView<T> x, std::size_t first, std::size_t depth,
                                 Mode mode, const TrainingStep& step) const {
  if (depth > layers_.size()) throw ConfigError("forward depth beyond the last layer");
  if (first > 0 && first >= depth) throw ConfigError("a forward from a layer must run at least that layer");
  if (first == 0 && x.cols != inputs()) {
    throw ConfigError(fmt::format("the model takes {} inputs per image but was given {}", inputs(), x.cols));
  }
  if (first > 0 && x.cols != layers_[first - 1]->out_features()) {
    throw ConfigError(fmt::format("layer {} takes {} values per image but was given {}", first + 1,
                                  layers_[first - 1]->out_features(), x.cols));
  }
  ws.outputs.resize(layers_.size());
  ws.scratch.resize(layers_.size());
  ws.contexts.resize(layers_.size());
  ws.depth = depth;
  auto context = [&](std::size_t i) -> LayerContext<T>& {
    LayerContext<T>& ctx = ws.contexts[i];
    ctx.mode = mode;
    ctx.random = mode == Mode::train ? RandomStream(step.seed, step.step, i) : RandomStream();
    ctx.scratch = &ws.scratch[i];
    ctx.first_row = step.first_row;
    ctx.input_is_data = i == 0;
    ctx.data_background = i == 0 ? pixel_scale(spec_.normalize).offset : 0.0f;
    return ctx;
  };
  ConstMatrixView<T> input = x;
  for (std::size_t i = first; i < depth; ++i) {
    const LayerContext<T>& ctx = context(i);
    const Linear<T>* with_relu = i + 1 < depth ? linear_before_relu_[i] : nullptr;
    if (with_relu != nullptr) {
      // The ReLU runs inside the Linear's product, which is never stored.
      ws.outputs[i].resize(x.rows, 0);
      ++i;
      context(i);
      ws.outputs[i].resize(x.rows, layers_[i]->out_features());
      with_relu->forward_then_relu(ctx, input, ws.outputs[i]);
    } else {
      ws.outputs[i].resize(x.rows, layers_[i]->out_features());
      layers_[i]->forward(ctx, input, ws.outputs[i]);
    }
    input = ws.outputs[i];
  }
  return input;
}

template <typename T>
ConstMatrixView<T> Model<T>::forward(Workspace<T>& ws, ConstMatrixView<T> x, std::size_t depth) const {
  return run(ws, x, 0, depth, Mode::eval, {});
}

template <typename T>
ConstMatrixView<T> Model<T>::forward_from(Workspace<T>& ws, ConstMatrixView<T> x, std::size_t first,
                                          std::size_t depth) const {
  return run(ws, x, first, depth, Mode::eval, {});
}

template <typename T>
ConstMatrixView<T> Model<T>::forward_train(Workspace<T>& ws, ConstMatrixView<T> x, std::size_t depth,
                                           const TrainingStep& step) const {
  return run(ws, x, 0, depth, Mode::train, step);
}

template <typename T>
void Model<T>::update_buffers(const Workspace<T>& ws) {
  for (std::size_t i = 0; i < ws.depth; ++i) layers_[i]->update_buffers(ws.contexts[i]);
}

template <typename T>
void Model<T>::backward(Workspace<T>& ws, ConstMatrixView<T> x, ConstMatrixView<T> d_out, std::span<T> grads,
                        GradientWrite write) const {
  if (grads.size() != params_.size()) throw ConfigError("backward: the gradient buffer does not fit the model");
  ConstMatrixView<T> dy = d_out;
  for (std::size_t i = ws.depth; i-- > 0;) {
    const ConstMatrixView<T> input = i == 0 ? x : ConstMatrixView<T>(ws.outputs[i - 1]);
    layers_[i]->parameter_gradient(ws.contexts[i], input, dy,
                                   grads.subspan(param_offsets_[i], layers_[i]->parameter_count()), write);
    if (i == 0) break;  // nobody needs dL/dx of the data itself
    ws.grad_in.resize(x.rows, layers_[i]->in_features());
    if (const Linear<T>* after_relu = linear_after_relu_[i]) {
      // Out comes dL/d(the ReLU's input): the ReLU (no parameters) is done too.
      after_relu->backward_input_through_relu(ws.contexts[i], input, dy, ws.grad_in);
      --i;
    } else {
      layers_[i]->backward_input(ws.contexts[i], input, ws.outputs[i], dy, ws.grad_in);
    }
    std::swap(ws.grad_in, ws.grad_out);
    dy = ws.grad_out;
  }
}

template class Model<float>;
template class Model<double>;

}  // namespace bpnet
