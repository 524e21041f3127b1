#include <algorithm>
#include <cmath>
#include <type_traits>

#include "../kernels/gemm.hpp"
#include "../kernels/mostly_zero_input.hpp"
#include "bpnet/layers.hpp"

namespace bpnet {
namespace {

// Whether training's products on x skip its background: x is the batch
// itself and mostly what the zero pixels became (MNIST: 81%), and the
// kernels run here (kernels/mostly_zero_input.hpp). A background of 0
// (pixels in [0, 1]) gives the dense products' floats; torch's -1 does not.
template <typename T>
bool skips_background(const LayerContext<T>& ctx, ConstMatrixView<T> x) {
  if constexpr (std::is_same_v<T, float>) {
    return ctx.mode == Mode::train && ctx.input_is_data && mostly_zero_products_run(widest_isa(), x.rows) &&
           !dense_products_asked() && mostly_zeros(x.data, x.rows, x.cols, x.cols, ctx.data_background);
  } else {
    return false;
  }
}

}  // namespace

template <typename T>
LayerSpec Linear<T>::spec() const {
  return {"Linear", {{"out", static_cast<double>(out_)}}};
}

template <typename T>
void Linear<T>::bind(std::span<T> params, std::span<T> /*buffers*/) {
  weight_ = params.data();
  bias_ = params.data() + out_ * in_;
}

template <typename T>
void Linear<T>::initialize(Init init, Rng& rng) {
  const double fan_in = static_cast<double>(in_);
  const double fan_out = static_cast<double>(out_);
  double weight_bound = 0;
  double bias_bound = 0;
  switch (init) {
    case Init::torch:
      // nn.Linear.reset_parameters: kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(in)),
      // and the bias U(+-1/sqrt(in)) too.
      weight_bound = bias_bound = 1.0 / std::sqrt(fan_in);
      break;
    case Init::xavier:
      weight_bound = std::sqrt(6.0 / (fan_in + fan_out));
      break;
    case Init::he:
      weight_bound = std::sqrt(6.0 / fan_in);
      break;
  }
  for (std::size_t i = 0; i < out_ * in_; ++i) {
    weight_[i] = static_cast<T>(rng.uniform(-weight_bound, weight_bound));
  }
  for (std::size_t i = 0; i < out_; ++i) {
    bias_[i] = bias_bound == 0 ? T(0) : static_cast<T>(rng.uniform(-bias_bound, bias_bound));
  }
}

template <typename T>
void Linear<T>::forward_product(const LayerContext<T>& ctx, ConstMatrixView<T> x, MatrixView<T> y, bool relu) const {
  // y = x W^T + b. Training cuts it by y's columns, so that each kernel thread
  // uses the rows of W it updates; inference lets the kernel cut it (large
  // batches by rows, so each thread reads half of x, not all of it).
  if constexpr (std::is_same_v<T, float>) {
    if (skips_background(ctx, x)) {
      mostly_zero_forward(widest_isa(), x.data, ctx.data_background, x.rows, in_, weight_, bias_, out_, relu, y.data,
                          out_);
      return;
    }
  }
  const GemmSplit split = ctx.mode == Mode::train ? GemmSplit::columns : GemmSplit::any;
  gemm_plus_bias<T>({Transpose::no, Transpose::yes, x.rows, out_, in_, split}, x.data, in_, weight_, in_, bias_,
                    y.data, out_, {relu ? Finish::relu : Finish::none});
}

template <typename T>
void Linear<T>::input_gradient(ConstMatrixView<T> dy, MatrixView<T> dx, const T* relu_output) const {
  // dx (B, in) = dy (B, out) W (out, in), kept where relu_output (B, in) > 0.
  const Epilogue<T> through_relu{relu_output != nullptr ? Finish::relu_backward : Finish::none, relu_output, in_};
  gemm<T>({Transpose::no, Transpose::no, dy.rows, in_, out_}, T(1), dy.data, out_, weight_, in_, T(0), dx.data, in_,
          through_relu);
}

template <typename T>
void Linear<T>::forward(const LayerContext<T>& ctx, ConstMatrixView<T> x, MatrixView<T> y) const {
  forward_product(ctx, x, y, false);
}

template <typename T>
void Linear<T>::forward_then_relu(const LayerContext<T>& ctx, ConstMatrixView<T> x, MatrixView<T> y) const {
  forward_product(ctx, x, y, true);
}

template <typename T>
void Linear<T>::backward_input(const LayerContext<T>& /*ctx*/, ConstMatrixView<T> /*x*/, ConstMatrixView<T> /*y*/,
                               ConstMatrixView<T> dy, MatrixView<T> dx) const {
  input_gradient(dy, dx, nullptr);
}

template <typename T>
void Linear<T>::backward_input_through_relu(const LayerContext<T>& /*ctx*/, ConstMatrixView<T> x,
                                            ConstMatrixView<T> dy, MatrixView<T> dx) const {
  input_gradient(dy, dx, x.data);
}

template <typename T>
void Linear<T>::parameter_gradient(const LayerContext<T>& ctx, ConstMatrixView<T> x, ConstMatrixView<T> dy,
                                   std::span<T> grads, GradientWrite write) const {
  // dW (out, in) += dy^T (out, B) x (B, in);  db (out) += column sums of dy
  // (or = for an overwrite: beta 0, and the sums start from 0).
  T* weight_grad = grads.data();
  T* bias_grad = grads.data() + out_ * in_;
  const T beta = write == GradientWrite::add ? T(1) : T(0);
  bool done = false;
  if constexpr (std::is_same_v<T, float>) {
    done = write == GradientWrite::overwrite && skips_background(ctx, x);
    if (done) {
      mostly_zero_weight_gradient(widest_isa(), x.data, ctx.data_background, x.rows, in_, dy.data, out_, out_,
                                  weight_grad);
    }
  }
  // Cut by dW's rows: the rows of W each kernel thread used in the forward.
  if (!done) {
    gemm<T>({Transpose::yes, Transpose::no, out_, in_, dy.rows, GemmSplit::rows}, T(1), dy.data, out_, x.data, in_,
            beta, weight_grad, in_);
  }
  if (write == GradientWrite::overwrite) std::fill(bias_grad, bias_grad + out_, T(0));
  for (std::size_t r = 0; r < dy.rows; ++r) {
    const T* row = dy.row(r);
    for (std::size_t j = 0; j < out_; ++j) bias_grad[j] += row[j];
  }
}

template class Linear<float>;
template class Linear<double>;

}  // namespace bpnet
