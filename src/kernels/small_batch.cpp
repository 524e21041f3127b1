// GEMM for a handful of rows against a transposed matrix, C = alpha A B^T +
// beta C with A: (M, K), B: (N, K), M tiny: the Linear forward of one image.
// A packed GEMM spends more time packing and waking threads than computing
// at M = 1 (OpenBLAS: about 50 us for the torch-seed network); these dot
// products need no packing and no threads.
//
// Three versions: AVX-512, AVX2 + FMA, and the plain loops (the reference, and
// what any x86-64 runs). The SIMD ones take four rows of B at once, so each
// load of A feeds four FMAs, with two accumulators per row to hide the FMA
// latency: eight chains in flight. The widest one the CPU runs is used. It
// streams the weights from L2, so rows must start on a cache line (the
// model's storage does, aligned_vector.hpp). Measured with
// `kernels_bench --benchmark_filter=OneImage` on the project's AVX-512 Xeon,
// AVX2 / AVX-512: torch-seed's layers 3.27 / 2.55 us (784 -> 128), 0.31 /
// 0.26 (128 -> 64), 0.046 / 0.041 (64 -> 10); 784-1000-500-10's middle layer
// (2 MB of weights, past L2) 25.1 / 26.2 - the one shape where AVX-512 does
// not win. Before the storage was aligned, AVX2 won everywhere (3.28 against
// 4.66 us on the first layer): every 64-byte load split across two lines.
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

// out[r] = dot(a, b + r * ldb) for r < 4.
__attribute__((target("avx512f"))) void dot4_avx512(const float* a, const float* b, std::size_t ldb,
                                                     std::size_t k, float* out) {
  __m512 acc[4][2];
  for (auto& row : acc) row[0] = row[1] = _mm512_setzero_ps();
  std::size_t p = 0;
  for (; p + 32 <= k; p += 32) {
    const __m512 x0 = _mm512_loadu_ps(a + p), x1 = _mm512_loadu_ps(a + p + 16);
    for (int r = 0; r < 4; ++r) {
      acc[r][0] = _mm512_fmadd_ps(x0, _mm512_loadu_ps(b + r * ldb + p), acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(x1, _mm512_loadu_ps(b + r * ldb + p + 16), acc[r][1]);
    }
  }
  if (p + 16 <= k) {
    const __m512 x0 = _mm512_loadu_ps(a + p);
    for (int r = 0; r < 4; ++r) acc[r][0] = _mm512_fmadd_ps(x0, _mm512_loadu_ps(b + r * ldb + p), acc[r][0]);
    p += 16;
  }
  const auto tail = static_cast<__mmask16>((1u << (k - p)) - 1u);  // k - p < 16
  const __m512 xt = _mm512_maskz_loadu_ps(tail, a + p);
  for (int r = 0; r < 4; ++r) {
    acc[r][0] = _mm512_fmadd_ps(xt, _mm512_maskz_loadu_ps(tail, b + r * ldb + p), acc[r][0]);
    out[r] = hsum512(_mm512_add_ps(acc[r][0], acc[r][1]));
  }
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
  for (int r = 0; r < 4; ++r) {
    float sum = hsum256(_mm256_add_ps(acc[r][0], acc[r][1]));
    for (std::size_t q = p; q < k; ++q) sum += a[q] * b[r * ldb + q];
    out[r] = sum;
  }
}

using Dot4 = void (*)(const float*, const float*, std::size_t, std::size_t, float*);

Dot4 dot4_for(Isa isa) {
  switch (isa) {
    case Isa::avx512: return dot4_avx512;
    case Isa::avx2: return dot4_avx2;
    case Isa::plain: return nullptr;
  }
  return nullptr;
}

void store(float product, float alpha, float beta, float* c) {
  *c = beta == 0.0f ? alpha * product : alpha * product + beta * *c;
}

}  // namespace

void gemm_small_rows_nt(Isa isa, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
                        std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
  const Dot4 dot4 = dot4_for(isa);
  for (std::size_t i = 0; i < m; ++i) {
    const float* row = a + i * lda;
    std::size_t j = 0;
    if (dot4 != nullptr && n >= 4) {
      float products[4];
      for (; j + 4 <= n; j += 4) {
        dot4(row, b + j * ldb, ldb, k, products);
        for (std::size_t r = 0; r < 4; ++r) store(products[r], alpha, beta, c + i * ldc + j + r);
      }
      // The last n % 4 rows: the last four rows again, those already stored
      // skipped (a row's dot product is the same floats in any group).
      if (j < n) {
        dot4(row, b + (n - 4) * ldb, ldb, k, products);
        for (std::size_t r = j - (n - 4); r < 4; ++r) store(products[r], alpha, beta, c + i * ldc + n - 4 + r);
        j = n;
      }
    }
    for (; j < n; ++j) store(plain_dot(row, b + j * ldb, k), alpha, beta, c + i * ldc + j);
  }
}

void gemm_small_rows_nt(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, std::size_t lda,
                        const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
  gemm_small_rows_nt(widest_isa(), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);  // measured: see the top
}

}  // namespace bpnet
