// Internal: Gaussian smoothing of a (rows, cols) float field with zeros
// outside it, for the elastic distortions' displacement fields. The
// separable version is what runs; the direct 2-D convolution is its
// reference (tests compare them).
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace bpnet {

// The normalised 1-D Gaussian exp(-k^2 / (2 sigma^2)) for k in [-R, R],
// R = ceil(3 sigma) capped at `longest_side` (beyond that it meets only zeros).
std::vector<float> gaussian_kernel(double sigma, std::size_t longest_side);

// How many floats blur_separable needs as scratch.
std::size_t blur_scratch_size(std::size_t rows, std::size_t cols, std::size_t taps);

// out (rows, cols) = field convolved with kernel (x) kernel, rows first then
// columns. scratch: blur_scratch_size() floats.
void blur_separable(const float* field, std::size_t rows, std::size_t cols, std::span<const float> kernel,
                    float* scratch, float* out);

// The same convolution written directly: for each output pixel, the sum over
// the whole 2-D kernel. Slow; the reference.
void blur_direct(const float* field, std::size_t rows, std::size_t cols, std::span<const float> kernel, float* out);

}  // namespace bpnet
