// GEMM for a handful of rows against a transposed matrix, C = alpha A B^T +
// beta C with A: (M, K), B: (N, K), M tiny: the Linear forward of one image.
// A packed GEMM spends more time packing and waking threads than computing
// at M = 1 (OpenBLAS: about 50 us for the torch-seed network); these dot
// products need no packing and no threads.
//
// Three versions: AVX-512, AVX2 + FMA, and the plain loops (the reference, and
// what any x86-64 runs). The SIMD ones take several rows of B at once, so each
// load of A feeds several FMAs, with eight FMA chains in flight (AVX2: four
// rows of two accumulators; AVX-512: eight rows of one), and give the same
// floats (see dot_rows_avx512). gemm<float> passes the widest one the CPU
// runs (or BPNET_MAX_ISA's). It streams the weights from L2, so rows must
// start on a cache line (the model's storage does, aligned_vector.hpp). Measured with
// `kernels_bench --benchmark_filter=OneImage`, AVX2 / AVX-512: on the
// project's AVX-512 Xeon, with the kernels before they gave the same floats,
// torch-seed's layers 3.27 / 2.55 us (784 -> 128), 0.31 / 0.26 (128 -> 64),
// 0.046 / 0.041 (64 -> 10); on an AMD EPYC (Zen 4: AVX-512 on 256-bit
// units, L2 read at about 105 GB/s), these kernels against those, side by
// side: 3.9-4.3 / 4.3-4.6 against 4.2-4.6 / 4.4-4.6 us, 0.42 / 0.32-0.43
// against 0.52-0.68 / 0.45-0.63, 0.049-0.062 / 0.064-0.075 against 0.08 /
// 0.095 (docs/performance.md); the first layer streams
// its 401 KB of weights at the L2's speed. Before the storage was aligned,
// AVX2 won everywhere on the Xeon (3.28 against 4.66 us on the first
// layer): every 64-byte load split across two lines.
#include <immintrin.h>

#include <initializer_list>

#include "small_batch.hpp"

namespace bpnet {
namespace {

float plain_dot(const float* a, const float* b, std::size_t k) {
  float sum = 0;
  for (std::size_t p = 0; p < k; ++p) sum += a[p] * b[p];
  return sum;
}

// AVX only, so that both the AVX2 and the AVX-512 kernels can inline it (a
// call out of the AVX-512 kernel into an "avx2,fma" function was not inlined
// and made that kernel 2.5x slower).
__attribute__((target("avx"))) float hsum256(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

// The sum of a vector's lanes: its halves added, then as hsum256. (GCC 12's
// 512-bit extract and shuffle intrinsics, and _mm512_reduce_add_ps built on
// them, trip -Wuninitialized inside its own header; the compiler's own
// vector shuffle does not.)
__attribute__((target("avx512f"))) float hsum512(__m512 v) {
  const __m256 low = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7);
  const __m256 high = __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  return hsum256(_mm256_add_ps(low, high));
}

// Both vector kernels compute each row's dot product with the same floats,
// so that one image (or a last batch of a few rows, in training too) gives
// the same outputs on an AVX2-only machine as on an AVX-512 one: sixteen
// lane sums, lane l adding a[p] * b[p] for p = l, l + 16, ... in order with
// fused multiply-adds (one 512-bit accumulator, or two 256-bit ones for
// lanes 0-7 and 8-15), the last k % 16 products fused into the same lanes
// from masked loads, then lanes l and l + 8 added, and those eight summed
// as hsum256 does. A row's floats do not depend on the rows beside it, so
// AVX-512 takes eight rows at a time (eight FMA chains, as AVX2 has with four
// rows of two).

// out[r] = dot(a, b + r * ldb) for r < kRows.
template <int kRows>
__attribute__((target("avx512f"))) void dot_rows_avx512(const float* a, const float* b, std::size_t ldb,
                                                         std::size_t k, float* out) {
  __m512 acc[kRows];
  for (auto& row : acc) row = _mm512_setzero_ps();
  std::size_t p = 0;
  for (; p + 16 <= k; p += 16) {
    const __m512 x = _mm512_loadu_ps(a + p);
    for (int r = 0; r < kRows; ++r) acc[r] = _mm512_fmadd_ps(x, _mm512_loadu_ps(b + r * ldb + p), acc[r]);
  }
  if (p < k) {
    const auto tail = static_cast<__mmask16>((1u << (k - p)) - 1u);  // k - p < 16
    const __m512 x = _mm512_maskz_loadu_ps(tail, a + p);
    for (int r = 0; r < kRows; ++r) {
      acc[r] = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(tail, b + r * ldb + p), acc[r]);
    }
  }
  for (int r = 0; r < kRows; ++r) out[r] = hsum512(acc[r]);
}

// The lanes [first, first + 8) of a tail of `left` floats, as a maskload mask.
__attribute__((target("avx2"))) __m256i tail_mask(std::size_t left, int first) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(left) - first), lane);
}

__attribute__((target("avx2,fma"))) void dot4_avx2(const float* a, const float* b, std::size_t ldb, std::size_t k,
                                                   float* out) {
  __m256 acc[4][2];
  for (auto& row : acc) row[0] = row[1] = _mm256_setzero_ps();
  std::size_t p = 0;
  for (; p + 16 <= k; p += 16) {
    const __m256 x0 = _mm256_loadu_ps(a + p), x1 = _mm256_loadu_ps(a + p + 8);
    for (int r = 0; r < 4; ++r) {
      acc[r][0] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(b + r * ldb + p), acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(x1, _mm256_loadu_ps(b + r * ldb + p + 8), acc[r][1]);
    }
  }
  if (p < k) {
    const __m256i low = tail_mask(k - p, 0), high = tail_mask(k - p, 8);
    const __m256 x0 = _mm256_maskload_ps(a + p, low), x1 = _mm256_maskload_ps(a + p + 8, high);
    for (int r = 0; r < 4; ++r) {
      acc[r][0] = _mm256_fmadd_ps(x0, _mm256_maskload_ps(b + r * ldb + p, low), acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(x1, _mm256_maskload_ps(b + r * ldb + p + 8, high), acc[r][1]);
    }
  }
  for (int r = 0; r < 4; ++r) out[r] = hsum256(_mm256_add_ps(acc[r][0], acc[r][1]));
}

using DotRows = void (*)(const float*, const float*, std::size_t, std::size_t, float*);

// How an instruction set takes the rows of B: `wide` rows at a time, and a
// last few (at most four) through `four`; null for the plain loops.
struct DotGroups {
  DotRows wide = nullptr;
  std::size_t wide_rows = 0;
  DotRows four = nullptr;
};

DotGroups dot_groups_for(Isa isa) {
  switch (isa) {
    case Isa::avx512: return {dot_rows_avx512<8>, 8, dot_rows_avx512<4>};
    case Isa::avx2: return {dot4_avx2, 4, dot4_avx2};
    case Isa::plain: return {};
  }
  return {};
}

void store(float product, float alpha, float beta, float* c) {
  *c = beta == 0.0f ? alpha * product : alpha * product + beta * *c;
}

}  // namespace

void gemm_small_rows_nt(Isa isa, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
                        std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
  const DotGroups groups = dot_groups_for(isa);
  for (std::size_t i = 0; i < m; ++i) {
    const float* row = a + i * lda;
    float* out = c + i * ldc;
    std::size_t j = 0;
    // Under four rows every instruction set runs plain_dot (the same floats).
    if (groups.wide != nullptr && n >= 4) {
      float products[8];
      auto run = [&](DotRows dot, std::size_t first, std::size_t rows, std::size_t from) {
        dot(row, b + first * ldb, ldb, k, products);
        for (std::size_t r = from; r < rows; ++r) store(products[r], alpha, beta, out + first + r);
      };
      for (; j + groups.wide_rows <= n; j += groups.wide_rows) run(groups.wide, j, groups.wide_rows, 0);
      for (; j + 4 <= n; j += 4) run(groups.four, j, 4, 0);
      // The last n % 4 rows: the last four rows again, those already stored
      // skipped (a row's dot product is the same floats in any group).
      if (j < n) run(groups.four, n - 4, 4, j - (n - 4));
      j = n;
    }
    for (; j < n; ++j) store(plain_dot(row, b + j * ldb, k), alpha, beta, out + j);
  }
}

}  // namespace bpnet
