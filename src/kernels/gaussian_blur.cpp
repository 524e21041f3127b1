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

// out[c] = sum_k kernel[k] * padded[c + k]: one row, the tap loop outside so
// that the inner loop runs along the row and vectorises.
BPNET_VECTOR_LOOP void blur_row(const float* padded, std::size_t cols, const float* kernel, std::size_t taps,
                                float* out) {
  for (std::size_t c = 0; c < cols; ++c) out[c] = 0;
  for (std::size_t k = 0; k < taps; ++k) {
    const float w = kernel[k];
    for (std::size_t c = 0; c < cols; ++c) out[c] += w * padded[c + k];
  }
}

BPNET_VECTOR_LOOP void add_scaled_row(const float* row, std::size_t cols, float w, float* out) {
  for (std::size_t c = 0; c < cols; ++c) out[c] += w * row[c];
}

}  // namespace

void blur_separable(const float* field, std::size_t rows, std::size_t cols, std::span<const float> kernel,
                    float* scratch, float* out) {
  const std::size_t taps = kernel.size(), radius = taps / 2;
  float* across = scratch;              // (rows, cols): smoothed along each row
  float* padded = scratch + rows * cols;  // (cols + 2R): one row in a zero frame
  std::fill_n(padded, cols + 2 * radius, 0.0f);
  for (std::size_t r = 0; r < rows; ++r) {
    std::copy_n(field + r * cols, cols, padded + radius);
    blur_row(padded, cols, kernel.data(), taps, across + r * cols);
  }
  // Down the columns: each output row is a weighted sum of whole rows.
  for (std::size_t r = 0; r < rows; ++r) {
    float* row = out + r * cols;
    std::fill_n(row, cols, 0.0f);
    for (std::size_t k = 0; k < taps; ++k) {
      const std::ptrdiff_t source = static_cast<std::ptrdiff_t>(r + k) - static_cast<std::ptrdiff_t>(radius);
      if (source < 0 || source >= static_cast<std::ptrdiff_t>(rows)) continue;
      add_scaled_row(across + static_cast<std::size_t>(source) * cols, cols, kernel[k], row);
    }
  }
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
