// Parameter-free layers. Each backward uses the forward output y where that
// is cheaper than recomputing from x (sigmoid, tanh, softmax).
#include <algorithm>
#include <cmath>

#include "bpnet/layers.hpp"
#include "../kernels/kernel_threads.hpp"
#include "../log_sum_exp.hpp"

namespace bpnet {
namespace {

// fn(i) for every i in [0, n), cut over the kernel threads from 16 Ki
// elements: torch-seed's first ReLU (128 x 128) then takes 4.2 us forward
// and 6.8 backward on two threads against 6.0 and 8.7 alone (half its lines
// were written by the other core either way); its second (128 x 64) was
// slower cut (2.0 -> 2.8 us), so it is not. Temporary step timers.
template <typename Fn>
void for_each_element(std::size_t n, Fn fn) {
  for_each_piece(n, 16, 16 * 1024, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) fn(i);
  });
}

// Applies op(x_i, y_i, dy_i) -> out_i elementwise over a whole (B, width) block.
template <typename T, typename Op>
void elementwise(ConstMatrixView<T> a, ConstMatrixView<T> b, ConstMatrixView<T> c, MatrixView<T> out,
                 Op op) {
  for_each_element(out.size(), [&](std::size_t i) { out.data[i] = op(a.data[i], b.data[i], c.data[i]); });
}

// fn(r) for every row of a (rows, cols) block, cut over the kernel threads
// when the block has enough elements: each costs an exp() or a log(), some
// forty times an addition, so the bar is lower than for_each_element's (a
// Predictor's batch of 1000 x 10 outputs splits; a training batch's does
// not, nor does a piece of evaluate()'s, already on a thread of its own).
template <typename Fn>
void for_each_row(std::size_t rows, std::size_t cols, Fn fn) {
  constexpr std::size_t kMinTranscendentals = 4096;
  for_each_piece(rows, 1, (kMinTranscendentals + cols - 1) / std::max<std::size_t>(cols, 1),
                 [&](std::size_t begin, std::size_t end) {
                   for (std::size_t r = begin; r < end; ++r) fn(r);
                 });
}

template <typename T>
T row_max(const T* row, std::size_t n) {
  return *std::max_element(row, row + n);
}

}  // namespace

template <typename T>
void Sigmoid<T>::forward(const LayerContext<T>& /*ctx*/, ConstMatrixView<T> x, MatrixView<T> y) const {
  for_each_element(x.size(), [&](std::size_t i) { y.data[i] = T(1) / (T(1) + std::exp(-x.data[i])); });
}
template <typename T>
void Sigmoid<T>::backward_input(const LayerContext<T>& /*ctx*/, ConstMatrixView<T> x, ConstMatrixView<T> y, ConstMatrixView<T> dy,
                                MatrixView<T> dx) const {
  elementwise<T>(x, y, dy, dx, [](T, T yi, T dyi) { return dyi * yi * (T(1) - yi); });
}

template <typename T>
void Tanh<T>::forward(const LayerContext<T>& /*ctx*/, ConstMatrixView<T> x, MatrixView<T> y) const {
  for_each_element(x.size(), [&](std::size_t i) { y.data[i] = std::tanh(x.data[i]); });
}
template <typename T>
void Tanh<T>::backward_input(const LayerContext<T>& /*ctx*/, ConstMatrixView<T> x, ConstMatrixView<T> y, ConstMatrixView<T> dy,
                             MatrixView<T> dx) const {
  elementwise<T>(x, y, dy, dx, [](T, T yi, T dyi) { return dyi * (T(1) - yi * yi); });
}

template <typename T>
void ReLU<T>::forward(const LayerContext<T>& /*ctx*/, ConstMatrixView<T> x, MatrixView<T> y) const {
  for_each_element(x.size(), [&](std::size_t i) { y.data[i] = std::max(x.data[i], T(0)); });
}
template <typename T>
void ReLU<T>::backward_input(const LayerContext<T>& /*ctx*/, ConstMatrixView<T> /*x*/, ConstMatrixView<T> y,
                             ConstMatrixView<T> dy, MatrixView<T> dx) const {
  // y > 0 exactly where x > 0 (y = max(x, 0); NaN stays NaN), and x is not
  // read: a Linear that runs this ReLU inside its product (Model) leaves its
  // own output unwritten.
  for_each_element(dx.size(), [&](std::size_t i) { dx.data[i] = y.data[i] > T(0) ? dy.data[i] : T(0); });
}

template <typename T>
LayerSpec LeakyReLU<T>::spec() const {
  return {"LeakyReLU", {{"slope", static_cast<double>(slope_)}}};
}
template <typename T>
void LeakyReLU<T>::forward(const LayerContext<T>& /*ctx*/, ConstMatrixView<T> x, MatrixView<T> y) const {
  for_each_element(x.size(), [&](std::size_t i) { y.data[i] = x.data[i] > T(0) ? x.data[i] : slope_ * x.data[i]; });
}
template <typename T>
void LeakyReLU<T>::backward_input(const LayerContext<T>& /*ctx*/, ConstMatrixView<T> x, ConstMatrixView<T> y,
                                  ConstMatrixView<T> dy, MatrixView<T> dx) const {
  const T slope = slope_;
  elementwise<T>(x, y, dy, dx, [slope](T xi, T, T dyi) { return xi > T(0) ? dyi : slope * dyi; });
}

template <typename T>
void GELU<T>::forward(const LayerContext<T>& /*ctx*/, ConstMatrixView<T> x, MatrixView<T> y) const {
  for_each_element(x.size(), [&](std::size_t i) {
    const T v = x.data[i];
    y.data[i] = T(0.5) * v * (T(1) + std::erf(v * T(M_SQRT1_2)));
  });
}
template <typename T>
void GELU<T>::backward_input(const LayerContext<T>& /*ctx*/, ConstMatrixView<T> x, ConstMatrixView<T> y,
                             ConstMatrixView<T> dy, MatrixView<T> dx) const {
  // d/dx x Phi(x) = Phi(x) + x phi(x), phi the standard normal density.
  elementwise<T>(x, y, dy, dx, [](T xi, T, T dyi) {
    const T cdf = T(0.5) * (T(1) + std::erf(xi * T(M_SQRT1_2)));
    const T pdf = std::exp(T(-0.5) * xi * xi) * T(0.3989422804014327);  // 1/sqrt(2 pi)
    return dyi * (cdf + xi * pdf);
  });
}

template <typename T>
void Softmax<T>::forward(const LayerContext<T>& /*ctx*/, ConstMatrixView<T> x, MatrixView<T> y) const {
  for_each_row(x.rows, x.cols, [&](std::size_t r) {
    const T* in = x.row(r);
    T* out = y.row(r);
    const T shift = row_max(in, x.cols);  // subtracting the max keeps exp() finite
    T total = 0;
    for (std::size_t j = 0; j < x.cols; ++j) total += out[j] = std::exp(in[j] - shift);
    for (std::size_t j = 0; j < x.cols; ++j) out[j] /= total;
  });
}
template <typename T>
void Softmax<T>::backward_input(const LayerContext<T>& /*ctx*/, ConstMatrixView<T> /*x*/, ConstMatrixView<T> y,
                                ConstMatrixView<T> dy, MatrixView<T> dx) const {
  // dx_i = y_i (dy_i - sum_j dy_j y_j)
  for (std::size_t r = 0; r < y.rows; ++r) {
    const T* yr = y.row(r);
    const T* dyr = dy.row(r);
    T dot = 0;
    for (std::size_t j = 0; j < y.cols; ++j) dot += dyr[j] * yr[j];
    T* dxr = dx.row(r);
    for (std::size_t j = 0; j < y.cols; ++j) dxr[j] = yr[j] * (dyr[j] - dot);
  }
}

template <typename T>
void LogSoftmax<T>::forward(const LayerContext<T>& /*ctx*/, ConstMatrixView<T> x, MatrixView<T> y) const {
  for_each_row(x.rows, x.cols, [&](std::size_t r) {
    const T* in = x.row(r);
    T* out = y.row(r);
    const T log_total = log_sum_exp(in, x.cols);
    for (std::size_t j = 0; j < x.cols; ++j) out[j] = in[j] - log_total;
  });
}
template <typename T>
void LogSoftmax<T>::backward_input(const LayerContext<T>& /*ctx*/, ConstMatrixView<T> /*x*/, ConstMatrixView<T> y,
                                   ConstMatrixView<T> dy, MatrixView<T> dx) const {
  // dx_i = dy_i - softmax_i * sum_j dy_j, with softmax_i = e^y_i.
  for (std::size_t r = 0; r < y.rows; ++r) {
    const T* yr = y.row(r);
    const T* dyr = dy.row(r);
    T total = 0;
    for (std::size_t j = 0; j < y.cols; ++j) total += dyr[j];
    T* dxr = dx.row(r);
    for (std::size_t j = 0; j < y.cols; ++j) dxr[j] = dyr[j] - std::exp(yr[j]) * total;
  }
}

template class Sigmoid<float>;
template class Sigmoid<double>;
template class Tanh<float>;
template class Tanh<double>;
template class ReLU<float>;
template class ReLU<double>;
template class LeakyReLU<float>;
template class LeakyReLU<double>;
template class GELU<float>;
template class GELU<double>;
template class Softmax<float>;
template class Softmax<double>;
template class LogSoftmax<float>;
template class LogSoftmax<double>;

}  // namespace bpnet
