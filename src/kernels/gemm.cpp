// Which kernel gemm<T> runs, and the threads it may use.
//
// float (training and inference): a few rows -> the few-rows kernel (one
// image at a time); otherwise bpnet's packed GEMM with the widest instruction
// set of this CPU, split over the kernel threads (kernel_threads.hpp). Both
// measured faster than OpenBLAS at the preset shapes (docs/performance.md),
// which bpnet no longer links. double (the gradient checker): the reference
// loops, where speed does not matter.
#include <algorithm>

#include "gemm.hpp"
#include "kernel_threads.hpp"
#include "packed_gemm.hpp"
#include "small_batch.hpp"

namespace bpnet {
namespace {

// One image (or up to four) through a Linear forward: the few-rows kernel.
bool few_rows_forward(const GemmShape& s) {
  return s.m <= kSmallBatchRows && s.trans_a == Transpose::no && s.trans_b == Transpose::yes;
}

}  // namespace

template <>
void gemm<float>(const GemmShape& s, float alpha, const float* a, std::size_t lda, const float* b,
                 std::size_t ldb, float beta, float* c, std::size_t ldc, const Epilogue<float>& epilogue) {
  if (few_rows_forward(s)) {
    gemm_small_rows_nt(s.m, s.n, s.k, alpha, a, lda, b, ldb, beta, c, ldc);
    finish_reference(s.m, s.n, epilogue, c, ldc);
    return;
  }
  with_kernel_team([&](ThreadTeam* team) {
    gemm_packed(widest_isa(), s, alpha, a, lda, b, ldb, beta, c, ldc, team, nullptr, epilogue);
  });
}

namespace {

template <typename T>
void bias_then_gemm(const GemmShape& s, const T* a, std::size_t lda, const T* b, std::size_t ldb, const T* bias, T* c,
                    std::size_t ldc, const Epilogue<T>& epilogue) {
  for (std::size_t i = 0; i < s.m; ++i) std::copy_n(bias, s.n, c + i * ldc);
  gemm<T>(s, T(1), a, lda, b, ldb, T(1), c, ldc, epilogue);
}

}  // namespace

template <>
void gemm_plus_bias<float>(const GemmShape& s, const float* a, std::size_t lda, const float* b, std::size_t ldb,
                           const float* bias, float* c, std::size_t ldc, const Epilogue<float>& epilogue) {
  if (few_rows_forward(s)) {
    bias_then_gemm(s, a, lda, b, ldb, bias, c, ldc, epilogue);
    return;
  }
  with_kernel_team([&](ThreadTeam* team) {
    gemm_packed(widest_isa(), s, 1.0f, a, lda, b, ldb, 1.0f, c, ldc, team, bias, epilogue);
  });
}

template <>
void gemm_plus_bias<double>(const GemmShape& s, const double* a, std::size_t lda, const double* b, std::size_t ldb,
                            const double* bias, double* c, std::size_t ldc, const Epilogue<double>& epilogue) {
  bias_then_gemm(s, a, lda, b, ldb, bias, c, ldc, epilogue);
}

// The gradient checker's small networks: the reference loops are enough.
template <>
void gemm<double>(const GemmShape& s, double alpha, const double* a, std::size_t lda, const double* b,
                  std::size_t ldb, double beta, double* c, std::size_t ldc, const Epilogue<double>& epilogue) {
  gemm_reference<double>(s, alpha, a, lda, b, ldb, beta, c, ldc);
  finish_reference(s.m, s.n, epilogue, c, ldc);
}

}  // namespace bpnet
