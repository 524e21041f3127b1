// Which kernel gemm<T> runs, and the threads it may use.
//
// float (training and inference): a few rows -> the few-rows kernel (one
// image at a time); otherwise bpnet's packed GEMM with the widest instruction
// set of this CPU, split over a team of kernel threads. Both measured faster
// than OpenBLAS at every preset shape (docs/performance.md). double (the
// gradient checker): OpenBLAS, where speed does not matter.
#include <cblas.h>

#include <memory>
#include <mutex>
#include <thread>

#include "gemm.hpp"
#include "packed_gemm.hpp"
#include "small_batch.hpp"
#include "../parallel/thread_team.hpp"

namespace bpnet {
namespace {

CBLAS_TRANSPOSE to_cblas(Transpose t) { return t == Transpose::yes ? CblasTrans : CblasNoTrans; }

// The kernel threads: one team for the process, as OpenBLAS has. A caller
// that finds it busy (another thread's product, e.g. a server's predictors
// or batch shards on their own threads) computes alone, so concurrent calls
// never wait on each other.
struct KernelTeam {
  std::mutex busy;
  std::unique_ptr<ThreadTeam> team;  // null: one thread
  int threads = 1;
};

int all_cores() {
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return cores > 0 ? cores : 1;
}

void resize(KernelTeam& shared, int threads) {
  shared.team = threads > 1 ? std::make_unique<ThreadTeam>(threads) : nullptr;
  shared.threads = threads;
}

// All cores until told otherwise, as OpenBLAS does.
KernelTeam& kernel_team() {
  static KernelTeam* const shared = [] {
    auto* t = new KernelTeam;  // never destroyed: no thread is joined at exit
    resize(*t, all_cores());
    return t;
  }();
  return *shared;
}

}  // namespace

template <>
void gemm<float>(const GemmShape& s, float alpha, const float* a, std::size_t lda, const float* b,
                 std::size_t ldb, float beta, float* c, std::size_t ldc) {
  if (s.m <= kSmallBatchRows && s.trans_a == Transpose::no && s.trans_b == Transpose::yes) {
    gemm_small_rows_nt(s.m, s.n, s.k, alpha, a, lda, b, ldb, beta, c, ldc);  // one image at a time
    return;
  }
  static const Isa widest = widest_isa();
  KernelTeam& shared = kernel_team();
  std::unique_lock lock(shared.busy, std::try_to_lock);
  ThreadTeam* team = lock.owns_lock() ? shared.team.get() : nullptr;
  gemm_packed(widest, s, alpha, a, lda, b, ldb, beta, c, ldc, team);
}

template <>
void gemm<double>(const GemmShape& s, double alpha, const double* a, std::size_t lda,
                  const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc) {
  cblas_dgemm(CblasRowMajor, to_cblas(s.trans_a), to_cblas(s.trans_b), static_cast<int>(s.m),
              static_cast<int>(s.n), static_cast<int>(s.k), alpha, a, static_cast<int>(lda), b,
              static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

void set_kernel_threads(int threads) {
  const int wanted = threads > 0 ? threads : all_cores();
  openblas_set_num_threads(wanted);
  KernelTeam& shared = kernel_team();
  const std::lock_guard lock(shared.busy);
  if (wanted != shared.threads) resize(shared, wanted);
}

int kernel_threads() {
  KernelTeam& shared = kernel_team();
  const std::lock_guard lock(shared.busy);
  return shared.threads;
}

}  // namespace bpnet
