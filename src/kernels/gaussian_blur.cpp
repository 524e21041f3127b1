#include "kernels/gaussian_blur.hpp"

#include <algorithm>
#include <cmath>

#include "simd.hpp"

namespace bpnet {

std::vector<float> gaussian_kernel(double sigma, std::size_t longest_side) {
  const auto radius = std::min(static_cast<std::size_t>(std::ceil(3 * sigma)), longest_side);
  std::vector<double> weights(2 * radius + 1);
  double total = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const double k = static_cast<double>(i) - static_cast<double>(radius);
    weights[i] = std::exp(-k * k / (2 * sigma * sigma));
    total += weights[i];
  }
  std::vector<float> kernel(weights.size());
  for (std::size_t i = 0; i < weights.size(); ++i) kernel[i] = static_cast<float>(weights[i] / total);
  return kernel;
}

namespace {

// out[i] = sum_k kernel[k] * in[i + k * stride] for i in [0, n). Blocks of
// 32 outputs stay in registers over all taps (one pass over memory instead
// of one per tap); the block's inner loop vectorises whatever the width.
BPNET_VECTOR_LOOP void convolve_flat(const float* in, std::size_t n, std::size_t stride, const float* kernel,
                                     std::size_t taps, float* out) {
  constexpr std::size_t kBlock = 16;
  std::size_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    float sum[kBlock] = {};
    for (std::size_t k = 0; k < taps; ++k) {
      const float w = kernel[k];
      const float* shifted = in + i + k * stride;
      for (std::size_t j = 0; j < kBlock; ++j) sum[j] += w * shifted[j];
    }
    for (std::size_t j = 0; j < kBlock; ++j) out[i + j] = sum[j];
  }
  for (; i < n; ++i) {
    float sum = 0;
    for (std::size_t k = 0; k < taps; ++k) sum += kernel[k] * in[i + k * stride];
    out[i] = sum;
  }
}

}  // namespace

std::size_t blur_scratch_size(std::size_t rows, std::size_t cols, std::size_t taps) {
  const std::size_t radius = taps / 2;
  return 2 * rows * (cols + 2 * radius) + (rows + 2 * radius) * cols;
}

void blur_separable(const float* field, std::size_t rows, std::size_t cols, std::span<const float> kernel,
                    float* scratch, float* out) {
  const std::size_t taps = kernel.size(), radius = taps / 2, wide = cols + 2 * radius;
  // Along the rows: each row in a frame of R zeros on both sides, the rows
  // end to end; one flat convolution then gives every row's result (and
  // values between rows, which are dropped).
  float* framed = scratch;                // (rows, cols + 2R)
  float* along = framed + rows * wide;    // (rows, cols + 2R), the first cols of each row used
  float* tall = along + rows * wide;      // (rows + 2R, cols): R zero rows above and below
  for (std::size_t r = 0; r < rows; ++r) {
    float* row = framed + r * wide;
    std::fill_n(row, radius, 0.0f);
    std::copy_n(field + r * cols, cols, row + radius);
    std::fill_n(row + radius + cols, radius, 0.0f);
  }
  convolve_flat(framed, rows * wide - 2 * radius, 1, kernel.data(), taps, along);
  std::fill_n(tall, radius * cols, 0.0f);
  for (std::size_t r = 0; r < rows; ++r) std::copy_n(along + r * wide, cols, tall + (radius + r) * cols);
  std::fill_n(tall + (radius + rows) * cols, radius * cols, 0.0f);
  // Down the columns: the same flat convolution with a stride of one row.
  convolve_flat(tall, rows * cols, cols, kernel.data(), taps, out);
}

void blur_direct(const float* field, std::size_t rows, std::size_t cols, std::span<const float> kernel, float* out) {
  const auto radius = static_cast<std::ptrdiff_t>(kernel.size() / 2);
  const auto h = static_cast<std::ptrdiff_t>(rows), w = static_cast<std::ptrdiff_t>(cols);
  for (std::ptrdiff_t y = 0; y < h; ++y) {
    for (std::ptrdiff_t x = 0; x < w; ++x) {
      double sum = 0;
      for (std::ptrdiff_t i = -radius; i <= radius; ++i) {
        for (std::ptrdiff_t j = -radius; j <= radius; ++j) {
          if (y + i < 0 || y + i >= h || x + j < 0 || x + j >= w) continue;
          sum += static_cast<double>(kernel[static_cast<std::size_t>(i + radius)]) *
                 kernel[static_cast<std::size_t>(j + radius)] * field[(y + i) * w + x + j];
        }
      }
      out[y * w + x] = static_cast<float>(sum);
    }
  }
}

}  // namespace bpnet
