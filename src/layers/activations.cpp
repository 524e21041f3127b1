// Parameter-free layers. Each backward uses the forward output y where that
// is cheaper than recomputing from x (sigmoid, tanh, softmax).
#include <algorithm>
#include <cmath>

#include "bpnet/layers.hpp"
#include "../log_sum_exp.hpp"

namespace bpnet {
namespace {

// Applies op(x_i, y_i, dy_i) -> out_i elementwise over a whole (B, width) block.
template <typename T, typename Op>
void elementwise(ConstMatrixView<T> a, ConstMatrixView<T> b, ConstMatrixView<T> c, MatrixView<T> out,
                 Op op) {
  const std::size_t n = out.size();
  for (std::size_t i = 0; i < n; ++i) out.data[i] = op(a.data[i], b.data[i], c.data[i]);
}

template <typename T>
T row_max(const T* row, std::size_t n) {
  return *std::max_element(row, row + n);
}

}  // namespace

template <typename T>
void Sigmoid<T>::forward(ConstMatrixView<T> x, MatrixView<T> y) const {
  for (std::size_t i = 0; i < x.size(); ++i) y.data[i] = T(1) / (T(1) + std::exp(-x.data[i]));
}
template <typename T>
void Sigmoid<T>::backward_input(ConstMatrixView<T> x, ConstMatrixView<T> y, ConstMatrixView<T> dy,
                                MatrixView<T> dx) const {
  elementwise<T>(x, y, dy, dx, [](T, T yi, T dyi) { return dyi * yi * (T(1) - yi); });
}

template <typename T>
void Tanh<T>::forward(ConstMatrixView<T> x, MatrixView<T> y) const {
  for (std::size_t i = 0; i < x.size(); ++i) y.data[i] = std::tanh(x.data[i]);
}
template <typename T>
void Tanh<T>::backward_input(ConstMatrixView<T> x, ConstMatrixView<T> y, ConstMatrixView<T> dy,
                             MatrixView<T> dx) const {
  elementwise<T>(x, y, dy, dx, [](T, T yi, T dyi) { return dyi * (T(1) - yi * yi); });
}

template <typename T>
void ReLU<T>::forward(ConstMatrixView<T> x, MatrixView<T> y) const {
  for (std::size_t i = 0; i < x.size(); ++i) y.data[i] = std::max(x.data[i], T(0));
}
template <typename T>
void ReLU<T>::backward_input(ConstMatrixView<T> x, ConstMatrixView<T> y, ConstMatrixView<T> dy,
                             MatrixView<T> dx) const {
  elementwise<T>(x, y, dy, dx, [](T xi, T, T dyi) { return xi > T(0) ? dyi : T(0); });
}

template <typename T>
void Softmax<T>::forward(ConstMatrixView<T> x, MatrixView<T> y) const {
  for (std::size_t r = 0; r < x.rows; ++r) {
    const T* in = x.row(r);
    T* out = y.row(r);
    const T shift = row_max(in, x.cols);  // subtracting the max keeps exp() finite
    T total = 0;
    for (std::size_t j = 0; j < x.cols; ++j) total += out[j] = std::exp(in[j] - shift);
    for (std::size_t j = 0; j < x.cols; ++j) out[j] /= total;
  }
}
template <typename T>
void Softmax<T>::backward_input(ConstMatrixView<T> /*x*/, ConstMatrixView<T> y,
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
void LogSoftmax<T>::forward(ConstMatrixView<T> x, MatrixView<T> y) const {
  for (std::size_t r = 0; r < x.rows; ++r) {
    const T* in = x.row(r);
    T* out = y.row(r);
    const T log_total = log_sum_exp(in, x.cols);
    for (std::size_t j = 0; j < x.cols; ++j) out[j] = in[j] - log_total;
  }
}
template <typename T>
void LogSoftmax<T>::backward_input(ConstMatrixView<T> /*x*/, ConstMatrixView<T> y,
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
template class Softmax<float>;
template class Softmax<double>;
template class LogSoftmax<float>;
template class LogSoftmax<double>;

}  // namespace bpnet
