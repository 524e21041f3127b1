// GEMM for a handful of rows against a transposed matrix, C = alpha A B^T +
// beta C with A: (M, K), B: (N, K), M tiny: the Linear forward of one image.
// OpenBLAS spends more time dispatching (and waking threads) than computing
// at M = 1 (about 50 us for the torch-seed network); these dot products need
// no packing and no threads.
#include "small_batch.hpp"

#include "../simd.hpp"

namespace bpnet {
namespace {

// Thirty-two independent partial sums: four vector chains hide the add
// latency; GCC turns them into four AVX2 (or eight SSE) registers.
BPNET_VECTOR_LOOP float dot(const float* a, const float* b, std::size_t k) {
  constexpr std::size_t kLanes = 32;
  float partial[kLanes] = {};
  std::size_t p = 0;
  for (; p + kLanes <= k; p += kLanes) {
    for (std::size_t l = 0; l < kLanes; ++l) partial[l] += a[p + l] * b[p + l];
  }
  float sum = 0;
  for (float v : partial) sum += v;
  for (; p < k; ++p) sum += a[p] * b[p];
  return sum;
}

}  // namespace

void gemm_small_rows_nt(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, std::size_t lda,
                        const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      const float product = alpha * dot(a + i * lda, b + j * ldb, k);
      c[i * ldc + j] = beta == 0.0f ? product : product + beta * c[i * ldc + j];
    }
  }
}

}  // namespace bpnet
