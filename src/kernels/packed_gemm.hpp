// Internal: bpnet's own single-precision GEMM, the one gemm<float> runs for
// more than a few rows (see packed_gemm.cpp for how it works and why).
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "gemm.hpp"
#include "isa.hpp"

namespace bpnet {

class ThreadTeam;

// How deep K's slices are: each element of C is summed slice by slice, a
// chain of FMAs from 0 over each slice then added to C, the first slice to
// the bias where there is one. sparse_pixel_product follows the same slices.
inline constexpr std::size_t kGemmKc = 256;

// C (M, N) = alpha * op(A) op(B) + beta * C, as gemm() (beta == 0 ignores C),
// with the given instruction set's micro-kernel. With a team, C is split
// into one block of whole tiles per member; each element is computed by the
// same operations in the same order whatever the split, so the result is
// bit-identical for any team size (and nullptr: the calling thread alone).
// With a bias (N values), C = alpha * op(A) op(B) + bias in every row
// (beta is not used), as bias-then-beta-1 would compute it. The epilogue's
// finish is done to each tile as its last slice of K is stored.
void gemm_packed(Isa isa, const GemmShape& shape, float alpha, const float* a, std::size_t lda, const float* b,
                 std::size_t ldb, float beta, float* c, std::size_t ldc, ThreadTeam* team,
                 const float* bias = nullptr, const Epilogue<float>& epilogue = {});

// Rows [first, last) of t (rows of m floats) into columns [first, last) of c:
// c[r * ldc + o] = t[o * m + r], eight by eight through registers where
// `simd` (AVX2), the edges one by one.
void transpose_rows_into_columns(bool simd, const float* t, std::size_t m, std::size_t first, std::size_t last,
                                 float* c, std::size_t ldc);

// C (m, n) = A (m, k) B^T + bias, B (n, k): gemm_packed with trans_a no,
// trans_b yes and a bias (a Linear forward, B its weights), the same floats,
// computed as its transpose C^T = B A^T into a buffer, then transposed into
// C. gemm_packed packs all of B (n x k) again for every product, transposing
// it; this reads B's rows in place and packs A (m x k) instead, at the cost of
// transposing C (m x n): for n well above m (the big networks' layers,
// n = 500-2500 for a batch of 128) the cheaper of the two. A team cuts C's
// columns in whole tiles (each thread the rows of B it updates in training).
// `finish` is none or relu (no mask).
void gemm_packed_by_weight_rows(Isa isa, std::size_t m, std::size_t n, std::size_t k, const float* a,
                                std::size_t lda, const float* b, std::size_t ldb, const float* bias, float* c,
                                std::size_t ldc, ThreadTeam* team, Finish finish);

// While one lives on a thread, each product that thread runs with an op(B)
// lying inside `weights` (a model's parameters, which must not change
// meanwhile: an evaluation) lays that op(B) out for the kernel once, the
// first time, and reuses it: a batch evaluated in pieces would otherwise pack
// the first layer's weights again for every piece (~4% of batched inference,
// docs/performance.md). The same floats either way. Scopes may nest: the
// inner one holds until it ends.
class ReusePackedWeights {
 public:
  explicit ReusePackedWeights(std::span<const float> weights);
  ~ReusePackedWeights();
  ReusePackedWeights(const ReusePackedWeights&) = delete;
  ReusePackedWeights& operator=(const ReusePackedWeights&) = delete;

  struct Packings;  // what this scope has packed

 private:
  std::unique_ptr<Packings> packings_;
  Packings* outer_;
};

}  // namespace bpnet
