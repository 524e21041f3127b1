// BatchNorm1d over (B, C): statistics per feature (column) across the batch.
#include <algorithm>
#include <cmath>

#include "bpnet/error.hpp"
#include "bpnet/layers.hpp"

namespace bpnet {

template <typename T>
LayerSpec BatchNorm1d<T>::spec() const {
  return {"BatchNorm1d", {{"eps", eps_}, {"momentum", momentum_}}};
}

template <typename T>
void BatchNorm1d<T>::bind(std::span<T> params, std::span<T> buffers) {
  const std::size_t c = this->out_features();
  weight_ = params.data();
  bias_ = params.data() + c;
  running_mean_ = buffers.data();
  running_var_ = buffers.data() + c;
}

template <typename T>
void BatchNorm1d<T>::initialize(Init /*init*/, Rng& /*rng*/) {
  // PyTorch's reset_parameters: weight 1, bias 0, running mean 0, variance 1.
  const std::size_t c = this->out_features();
  std::fill(weight_, weight_ + c, T(1));
  std::fill(bias_, bias_ + c, T(0));
  std::fill(running_mean_, running_mean_ + c, T(0));
  std::fill(running_var_, running_var_ + c, T(1));
}

template <typename T>
void BatchNorm1d<T>::forward(const LayerContext<T>& ctx, ConstMatrixView<T> x, MatrixView<T> y) const {
  const std::size_t b = x.rows, c = x.cols;
  // scratch (3, C): mean, inv_std, unbiased batch variance.
  std::vector<T>& s = *ctx.scratch;
  s.assign(3 * c, T(0));
  T* mean = s.data();
  T* inv_std = s.data() + c;
  T* unbiased = s.data() + 2 * c;
  const T eps = static_cast<T>(eps_);
  if (ctx.mode == Mode::train) {
    if (b < 2) throw ConfigError("BatchNorm1d needs at least 2 images per batch in training");
    for (std::size_t r = 0; r < b; ++r) {
      for (std::size_t j = 0; j < c; ++j) mean[j] += x(r, j);
    }
    for (std::size_t j = 0; j < c; ++j) mean[j] /= static_cast<T>(b);
    // Two passes (mean, then squared deviations) rather than E[x^2] - E[x]^2,
    // which cancels catastrophically in float.
    for (std::size_t r = 0; r < b; ++r) {
      for (std::size_t j = 0; j < c; ++j) {
        const T d = x(r, j) - mean[j];
        unbiased[j] += d * d;
      }
    }
    for (std::size_t j = 0; j < c; ++j) {
      const T squares = unbiased[j];
      inv_std[j] = T(1) / std::sqrt(squares / static_cast<T>(b) + eps);
      unbiased[j] = squares / static_cast<T>(b - 1);
    }
  } else {
    for (std::size_t j = 0; j < c; ++j) {
      mean[j] = running_mean_[j];
      inv_std[j] = T(1) / std::sqrt(running_var_[j] + eps);
    }
  }
  for (std::size_t r = 0; r < b; ++r) {
    for (std::size_t j = 0; j < c; ++j) y(r, j) = (x(r, j) - mean[j]) * inv_std[j] * weight_[j] + bias_[j];
  }
}

template <typename T>
void BatchNorm1d<T>::backward_input(const LayerContext<T>& ctx, ConstMatrixView<T> x, ConstMatrixView<T> /*y*/,
                                    ConstMatrixView<T> dy, MatrixView<T> dx) const {
  const std::size_t b = x.rows, c = x.cols;
  const T* mean = ctx.scratch->data();
  const T* inv_std = ctx.scratch->data() + c;
  if (ctx.mode == Mode::eval) {
    // Running statistics are constants: a per-feature affine map.
    for (std::size_t r = 0; r < b; ++r) {
      for (std::size_t j = 0; j < c; ++j) dx(r, j) = dy(r, j) * weight_[j] * inv_std[j];
    }
    return;
  }
  // With x_hat = (x - mean) inv_std, the batch statistics depending on x give
  //   dx = weight inv_std / B * (B dy - sum_B dy - x_hat sum_B (dy x_hat)).
  std::vector<T> sum_dy(c, T(0)), sum_dy_xhat(c, T(0));
  for (std::size_t r = 0; r < b; ++r) {
    for (std::size_t j = 0; j < c; ++j) {
      sum_dy[j] += dy(r, j);
      sum_dy_xhat[j] += dy(r, j) * (x(r, j) - mean[j]) * inv_std[j];
    }
  }
  const T n = static_cast<T>(b);
  for (std::size_t r = 0; r < b; ++r) {
    for (std::size_t j = 0; j < c; ++j) {
      const T x_hat = (x(r, j) - mean[j]) * inv_std[j];
      dx(r, j) = weight_[j] * inv_std[j] / n * (n * dy(r, j) - sum_dy[j] - x_hat * sum_dy_xhat[j]);
    }
  }
}

template <typename T>
void BatchNorm1d<T>::parameter_gradient(const LayerContext<T>& ctx, ConstMatrixView<T> x, ConstMatrixView<T> dy,
                                        std::span<T> grads, GradientWrite write) const {
  const std::size_t c = x.cols;
  T* weight_grad = grads.data();
  T* bias_grad = grads.data() + c;
  if (write == GradientWrite::overwrite) std::fill(grads.begin(), grads.end(), T(0));
  const T* mean = ctx.scratch->data();
  const T* inv_std = ctx.scratch->data() + c;
  // d weight += sum_B dy x_hat;  d bias += sum_B dy.
  for (std::size_t r = 0; r < x.rows; ++r) {
    for (std::size_t j = 0; j < c; ++j) {
      weight_grad[j] += dy(r, j) * (x(r, j) - mean[j]) * inv_std[j];
      bias_grad[j] += dy(r, j);
    }
  }
}

template <typename T>
void BatchNorm1d<T>::update_buffers(const LayerContext<T>& ctx) {
  const std::size_t c = this->out_features();
  const T* mean = ctx.scratch->data();
  const T* unbiased = ctx.scratch->data() + 2 * c;
  const T m = static_cast<T>(momentum_);
  for (std::size_t j = 0; j < c; ++j) {
    running_mean_[j] = (T(1) - m) * running_mean_[j] + m * mean[j];
    running_var_[j] = (T(1) - m) * running_var_[j] + m * unbiased[j];
  }
}

template class BatchNorm1d<float>;
template class BatchNorm1d<double>;

}  // namespace bpnet
