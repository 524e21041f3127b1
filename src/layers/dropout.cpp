// Inverted dropout. The mask is a pure function of the context's stream, so
// it is the same for any thread or worker count and after a resume.
#include <algorithm>

#include "bpnet/layers.hpp"

namespace bpnet {

template <typename T>
LayerSpec Dropout<T>::spec() const {
  return {"Dropout", {{"p", p_}}};
}

template <typename T>
void Dropout<T>::forward(const LayerContext<T>& ctx, ConstMatrixView<T> x, MatrixView<T> y) const {
  if (ctx.mode == Mode::eval || p_ == 0) {
    std::copy(x.data, x.data + x.size(), y.data);
    return;
  }
  // scratch (B, width): 0 for a dropped entry, 1/(1-p) for a kept one.
  std::vector<T>& mask = *ctx.scratch;
  mask.resize(x.size());
  const T keep_scale = static_cast<T>(1.0 / (1.0 - p_));
  const auto p = static_cast<float>(p_);
  const std::size_t first = ctx.first_row * x.cols;
  for (std::size_t i = 0; i < x.size(); ++i) {
    mask[i] = ctx.random.uniform01f(first + i) < p ? T(0) : keep_scale;
    y.data[i] = x.data[i] * mask[i];
  }
}

template <typename T>
void Dropout<T>::backward_input(const LayerContext<T>& ctx, ConstMatrixView<T> /*x*/, ConstMatrixView<T> /*y*/,
                                ConstMatrixView<T> dy, MatrixView<T> dx) const {
  if (ctx.mode == Mode::eval || p_ == 0) {
    std::copy(dy.data, dy.data + dy.size(), dx.data);
    return;
  }
  const std::vector<T>& mask = *ctx.scratch;
  for (std::size_t i = 0; i < dy.size(); ++i) dx.data[i] = dy.data[i] * mask[i];
}

template class Dropout<float>;
template class Dropout<double>;

}  // namespace bpnet
