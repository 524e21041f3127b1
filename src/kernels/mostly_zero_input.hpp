// Internal: a Linear layer's training products when most of its input is
// one background value - MNIST's pixels scaled to [0, 1] are 81% zeros -
// computed from the other entries alone. With a background of 0 the floats
// are the packed GEMM's: every element is the same chain of FMAs over the
// same slices of K, without the links that multiply a zero (what
// sparse_pixels.hpp does for evaluation, from the pixel bytes; training has
// the batch converted to floats).
//
// Another background c (torch's [-1, 1] pixels: c = -1) is taken out of x:
//   x W^T = (x - c) W^T + c (W's row sums),  dy^T x = dy^T (x - c) + c (dy's column sums),
// and x - c is the mostly-zero input. The floats are then those of the
// packed GEMM on x - c, plus the sums' terms (the sums in double): not the
// dense product's floats on x, but as close to the exact product
// (tests/mostly_zero_input_test.cpp).
//
// A zero times an infinite or NaN weight (or gradient) is NaN in the dense
// product and left out here; training stops on non-finite parameters either
// way (Trainer::check_finite).
//
// Letters: B rows of the batch, in inputs, out outputs.
//   x: (B, in)   W: (out, in)   b: (out)   y, dy: (B, out)   dW: (out, in)
#pragma once

#include <cstddef>

#include "isa.hpp"

namespace bpnet {

// Above this share of nonzero inputs the dense products are faster. Zen 4,
// two threads, keras-seed's 784 -> 128 on 64 rows of random inputs (the
// worst case: the nonzero ones fall anywhere), forward and dW against the
// dense products: 1.86x and 1.54x at 20% nonzero, 1.54x and 1.31x at 30%,
// 1.29x and 1.08x at 40%, 1.07x and 0.93x at 50%, 1.03x and 0.79x at 60%
// (docs/performance.md). MNIST is 19% nonzero, Fashion-MNIST 50%.
inline constexpr double kMostlyZeroMaxShare = 0.4;

// Whether the environment variable BPNET_DENSE_PIXELS is 1: the dense
// products asked for where zeros could be skipped, here and in evaluation
// (to measure them; the floats are the same).
bool dense_products_asked();

// Whether these products run: AVX2 or AVX-512 (the kernels below), more
// rows than kSmallBatchRows (fewer are summed in another order) and at most
// kGemmKc (dW's K in one slice).
bool mostly_zero_products_run(Isa isa, std::size_t rows);

// Whether x (rows, in; rows ld floats apart) is mostly the background: at
// most kMostlyZeroMaxShare of its first 16 rows' entries are something else
// (NaN counts), and at most twice that of its first row's.
bool mostly_zeros(const float* x, std::size_t rows, std::size_t in, std::size_t ld, float background);

// y (rows, out; ldy apart) = b + x W^T, then the ReLU if `relu`: with a
// background of 0 the floats of gemm_plus_bias; otherwise those of
// gemm_plus_bias on x - background with the bias background_bias gives.
// The outputs are cut over the kernel threads.
void mostly_zero_forward(Isa isa, const float* x, float background, std::size_t rows, std::size_t in, const float* w,
                         const float* b, std::size_t out, bool relu, float* y, std::size_t ldy);

// dW = dy^T x (dy's rows ldy apart), overwriting dW: with a background of 0
// the floats of gemm with op(A) = dy^T and beta 0; otherwise those of gemm
// on x - background, then add_background_gradient. dW's rows are cut over
// the kernel threads.
void mostly_zero_weight_gradient(Isa isa, const float* x, float background, std::size_t rows, std::size_t in,
                                 const float* dy, std::size_t ldy, std::size_t out, float* dw);

// bias[j] = b[j] + background times the sum of W's row j (W: out x in), in
// double and rounded once: the bias that makes the product of x - background
// the product of x.
void background_bias(const float* w, std::size_t in, const float* b, std::size_t out, float background, float* bias);

// dW (out x in) += background times dy's column sums (dy: rows x out, rows
// ldy apart; the sums in double, times background rounded to float, then
// added): what makes the gradient of x - background the gradient of x.
void add_background_gradient(const float* dy, std::size_t rows, std::size_t ldy, std::size_t out, float background,
                             float* dw, std::size_t in);

}  // namespace bpnet
