// Internal: a Linear layer's forward straight from pixel bytes, skipping the
// pixels that are 0. Most of an MNIST digit is background (81% of the test
// set's pixels are 0), and a zero pixel's products add exact zeros: leaving
// them out gives the dense product's floats with a fifth of its work.
//
// Letters: B images, in pixels an image, out outputs.
//   pixels: (B, in) bytes   W: (out, in)   b: (out)   y: (B, out)
#pragma once

#include <cstddef>
#include <cstdint>

#include "bpnet/aligned_vector.hpp"
#include "isa.hpp"

namespace bpnet {

// W laid out by pixel for sparse_pixel_product: row p holds pixel p's weight
// for every output (W^T, in x ld), and the bias beside it; both padded with
// zeros to whole blocks of the instruction set's outputs (ld floats).
struct PixelMajorWeights {
  PixelMajorWeights(Isa isa, const float* weight, const float* bias, std::size_t out, std::size_t in);

  Isa isa;
  std::size_t in, out, ld;
  AlignedVector<float> weight;  // (in, ld)
  AlignedVector<float> bias;    // (ld)
};

// Whether sparse_pixel_product runs for `isa`: AVX2 and AVX-512, whose
// packed GEMM it matches float for float.
bool sparse_pixel_product_runs(Isa isa);

// y = finish(b + x W^T) for x = pixels * scale (pixel 0 is 0.0; a
// normalisation that shifts pixels has its offset in b:
// pixel_first_layer.hpp), rows `in` bytes apart, y's rows ldy floats apart;
// finish is the ReLU or nothing. The floats are those of gemm_plus_bias on
// x with the packed GEMM of the same instruction set (more than
// kSmallBatchRows rows): each element is the same chain of FMAs over the
// same slices of K (kGemmKc), without the links that add 0.
// One thread; rows are independent, so callers cut them freely.
void sparse_pixel_product(const PixelMajorWeights& w, const std::uint8_t* pixels, std::size_t rows, float scale,
                          bool relu, float* y, std::size_t ldy);

// The share of bytes that are not 0 in [data, data + n): what decides
// whether skipping them pays.
double nonzero_share(const std::uint8_t* data, std::size_t n);

// Above this share of nonzero pixels skipping is not worth it. A whole
// evaluation on Zen 5 (AVX-512, two threads, keras-seed's 784-128-10, the
// MNIST test set with random pixels made nonzero, both paths taking turns;
// docs/performance.md) ran 2.00x as fast at MNIST's 19%, 1.54x at 30%,
// 1.31x at 40%, 1.20x at 50% (Fashion-MNIST, 50%: 1.16x), 1.02x at 60% and
// 0.98x at 70%. On an Intel Xeon (Emerald Rapids class) with the prefetching
// kernel, random pixels broke even near 45%, but real Fashion-MNIST (50%)
// ran 0.96-1.20x: random pixels are the kernel's worst case, so the bound
// stays where Fashion-MNIST gains on the Zen 5 and loses nothing there.
inline constexpr double kSparsePixelsMaxShare = 0.55;

}  // namespace bpnet
