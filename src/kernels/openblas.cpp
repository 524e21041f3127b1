// The fast GEMM: OpenBLAS (Debian's pthread build), chosen by measurement.
#include <cblas.h>

#include <thread>

#include "gemm.hpp"
#include "small_batch.hpp"

namespace bpnet {
namespace {

CBLAS_TRANSPOSE to_cblas(Transpose t) { return t == Transpose::yes ? CblasTrans : CblasNoTrans; }

}  // namespace

template <>
void gemm<float>(const GemmShape& s, float alpha, const float* a, std::size_t lda, const float* b,
                 std::size_t ldb, float beta, float* c, std::size_t ldc) {
  if (s.m <= kSmallBatchRows && s.trans_a == Transpose::no && s.trans_b == Transpose::yes) {
    gemm_small_rows_nt(s.m, s.n, s.k, alpha, a, lda, b, ldb, beta, c, ldc);  // one image at a time
    return;
  }
  cblas_sgemm(CblasRowMajor, to_cblas(s.trans_a), to_cblas(s.trans_b), static_cast<int>(s.m),
              static_cast<int>(s.n), static_cast<int>(s.k), alpha, a, static_cast<int>(lda), b,
              static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

template <>
void gemm<double>(const GemmShape& s, double alpha, const double* a, std::size_t lda,
                  const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc) {
  cblas_dgemm(CblasRowMajor, to_cblas(s.trans_a), to_cblas(s.trans_b), static_cast<int>(s.m),
              static_cast<int>(s.n), static_cast<int>(s.k), alpha, a, static_cast<int>(lda), b,
              static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

void set_kernel_threads(int threads) {
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  openblas_set_num_threads(threads > 0 ? threads : (cores > 0 ? cores : 1));
}

int kernel_threads() { return openblas_get_num_threads(); }

}  // namespace bpnet
