#include "bpnet/network.hpp"

#include <algorithm>
#include <utility>

namespace bpnet {
namespace {

template <typename T>
std::unique_ptr<Layer<T>> make_activation(Activation kind, std::size_t width) {
  switch (kind) {
    case Activation::sigmoid: return std::make_unique<Sigmoid<T>>(width);
    case Activation::tanh: return std::make_unique<Tanh<T>>(width);
    case Activation::relu: return std::make_unique<ReLU<T>>(width);
  }
  return nullptr;
}

}  // namespace

template <typename T>
Network<T>::Network(const ModelSpec& spec) : spec_(spec) {
  spec_.validate();
  const auto& sizes = spec_.layer_sizes;
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    layers_.push_back(std::make_unique<Linear<T>>(sizes[i], sizes[i + 1]));
    const bool last = i + 2 == sizes.size();
    if (!last) {
      layers_.push_back(make_activation<T>(spec_.activation, sizes[i + 1]));
    } else if (spec_.output == Output::softmax) {
      layers_.push_back(std::make_unique<Softmax<T>>(sizes[i + 1]));
    } else if (spec_.output == Output::log_softmax) {
      layers_.push_back(std::make_unique<LogSoftmax<T>>(sizes[i + 1]));
    }
  }
  std::size_t total = 0;
  for (const auto& layer : layers_) total += layer->parameter_count();
  params_.assign(total, T(0));
  grads_.assign(total, T(0));
  std::size_t offset = 0;
  for (auto& layer : layers_) {
    const std::size_t count = layer->parameter_count();
    layer->bind(std::span<T>(params_).subspan(offset, count),
                std::span<T>(grads_).subspan(offset, count));
    offset += count;
  }
  outputs_.resize(layers_.size());
}

template <typename T>
void Network<T>::zero_grad() {
  std::fill(grads_.begin(), grads_.end(), T(0));
}

template <typename T>
void Network<T>::initialize(Init init, Rng& rng) {
  for (auto& layer : layers_) layer->initialize(init, rng);
}

template <typename T>
std::size_t Network<T>::loss_depth() const {
  const bool fused = spec_.loss == LossKind::cross_entropy && spec_.output == Output::softmax;
  return fused ? depth() - 1 : depth();
}

template <typename T>
ConstMatrixView<T> Network<T>::forward(ConstMatrixView<T> x, std::size_t depth) {
  forward_depth_ = depth;
  ConstMatrixView<T> input = x;
  for (std::size_t i = 0; i < depth; ++i) {
    outputs_[i].resize(x.rows, layers_[i]->out_features());
    layers_[i]->forward(input, outputs_[i]);
    input = outputs_[i];
  }
  return input;
}

template <typename T>
void Network<T>::backward(ConstMatrixView<T> x, ConstMatrixView<T> d_out) {
  ConstMatrixView<T> dy = d_out;
  for (std::size_t i = forward_depth_; i-- > 0;) {
    const ConstMatrixView<T> input = i == 0 ? x : ConstMatrixView<T>(outputs_[i - 1]);
    layers_[i]->accumulate_parameter_gradient(input, dy);
    if (i == 0) break;  // nobody needs dL/dx of the data itself
    grad_in_.resize(x.rows, layers_[i]->in_features());
    layers_[i]->backward_input(input, outputs_[i], dy, grad_in_);
    std::swap(grad_in_, grad_out_);
    dy = grad_out_;
  }
}

template class Network<float>;
template class Network<double>;

}  // namespace bpnet
