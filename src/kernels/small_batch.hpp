// Internal: the few-rows GEMM used by gemm<float> (see small_batch.cpp).
#pragma once

#include <cstddef>

#include "isa.hpp"

namespace bpnet {

// Rows at or below this go to gemm_small_rows_nt instead of the packed GEMM.
inline constexpr std::size_t kSmallBatchRows = 4;

// C (m, n) = alpha * A (m, k) * B^T, B stored (n, k), + beta * C, with the
// given instruction set (gemm<float> passes widest_isa(); the tests compare
// each with plain; small_batch.cpp has the measurements).
void gemm_small_rows_nt(Isa isa, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
                        std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc);

}  // namespace bpnet
