// Which kernel gemm<T> runs, and the threads it may use.
//
// float (training and inference): a few rows -> the few-rows kernel (one
// image at a time); otherwise bpnet's packed GEMM with the widest instruction
// set of this CPU (or BPNET_MAX_ISA's), split over the kernel threads (kernel_threads.hpp). Both
// measured faster than OpenBLAS at the preset shapes (docs/performance.md),
// which bpnet no longer links. double (the gradient checker): the reference
// loops, where speed does not matter.
#include <algorithm>
#include <atomic>
#include <chrono>

#include "../parallel/thread_team.hpp"
#include "faster_of_two.hpp"
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

// A few-rows product of at least this many multiply-adds is shared with the
// kernel team's members that are awake (a layer of 784 -> 128 is 100,352):
// one core streams such a layer's weights from its L2 at that cache's speed
// (the first torch-seed layer, 401 KB: about 4 us), two cores each stream
// what they take. Smaller ones stay on the caller (128 -> 64: 0.3 us).
constexpr std::size_t kMinSharedFewRowsMacs = std::size_t{1} << 16;

// The rows of B (C's columns) in chunks of 16, the last one 16-31 (or all
// of n under 32), taken in turn by the caller and by whichever waiting
// members of the kernel team join in (ThreadTeam::offer): the caller never
// waits for a member to wake or to start, it takes every chunk nobody has
// taken, and a member whose core is slow at the moment takes fewer. Every
// row's dot product is the same floats in any chunk of at least four rows,
// so C does not depend on who took which.
class FewRowsChunks final : public IdleWork {
 public:
  FewRowsChunks(Isa isa, const GemmShape& s, float alpha, const float* a, std::size_t lda, const float* b,
                std::size_t ldb, float beta, float* c, std::size_t ldc)
      : isa_(isa), s_(s), alpha_(alpha), beta_(beta), a_(a), b_(b), c_(c), lda_(lda), ldb_(ldb), ldc_(ldc),
        chunks_(std::max<std::size_t>(1, s.n / kRows)) {}

  bool run_chunk() noexcept override {
    const std::size_t i = next_.fetch_add(1, std::memory_order_relaxed);
    if (i >= chunks_) return false;
    const std::size_t begin = i * kRows, end = i + 1 == chunks_ ? s_.n : begin + kRows;
    gemm_small_rows_nt(isa_, s_.m, end - begin, s_.k, alpha_, a_, lda_, b_ + begin * ldb_, ldb_, beta_, c_ + begin,
                       ldc_);
    return i + 1 < chunks_;
  }

 private:
  static constexpr std::size_t kRows = 16;
  Isa isa_;
  GemmShape s_;
  float alpha_, beta_;
  const float *a_, *b_;
  float* c_;
  std::size_t lda_, ldb_, ldc_, chunks_;
  std::atomic<std::size_t> next_{0};
};

// A product is shared only when the previous one ended less than this long
// ago: one image after another (a loop over images) finds the members awake,
// or wakes them once, and they stay awake while the images come. Further
// apart (a server's requests, an image now and then), the caller computes
// alone, as fast as before: a member then may have gone to sleep after its
// spin (waking one is a system call, and it arrives after the product is
// done), and joining one that was about to sleep measured slower than not
// (the one-image forward 7.3-8.1 against 6.7-7.2 us with 100 us between
// images, 3 runs each).
constexpr std::chrono::nanoseconds kStreamGap = std::chrono::microseconds(10);
std::atomic<std::chrono::steady_clock::rep> last_product_end{0};

// Even then, sharing is learned, not assumed (FasterOfTwo, on each calling
// thread): it pays where a cache line crosses between the cores quickly and
// costs where it does not. On a Zen 5 the torch-seed image took 2.5 us
// shared against 4.0 alone; on an Intel Xeon guest, whose cores passed a line
// one way in 130-350 ns then (a throwaway ping-pong), 9.5-11.6 us shared against
// 6.0-7.0 alone (medians of 60 blocks of 500 images, taking turns): the
// offer, the chunks' counter and the withdrawal each move lines between
// the cores while the caller waits.
constexpr int kAlone = 0, kShared = 1;

void few_rows_product(Isa isa, const GemmShape& s, float alpha, const float* a, std::size_t lda, const float* b,
                      std::size_t ldb, float beta, float* c, std::size_t ldc) {
  const std::size_t macs = s.m * s.n * s.k;
  if (macs < kMinSharedFewRowsMacs) {
    gemm_small_rows_nt(isa, s.m, s.n, s.k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  using Clock = std::chrono::steady_clock;
  thread_local FasterOfTwo ways;
  const Clock::rep start = Clock::now().time_since_epoch().count();
  // Only a product that could be shared teaches anything about sharing.
  const bool choice = kernel_threads() > 1 && start - last_product_end.load(std::memory_order_relaxed) <
                                                  std::chrono::duration_cast<Clock::duration>(kStreamGap).count();
  FewRowsChunks chunks(isa, s, alpha, a, lda, b, ldb, beta, c, ldc);
  // The way it ran: shared only if the team took the offer (it may be busy).
  const int way = choice && ways.next() == kShared && offer_idle_work(chunks, true) ? kShared : kAlone;
  if (way == kShared) {
    while (chunks.run_chunk()) {
    }
    withdraw_idle_work(chunks);  // returns once no member is inside a chunk: C is complete
  } else {
    gemm_small_rows_nt(isa, s.m, s.n, s.k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  const Clock::rep end = Clock::now().time_since_epoch().count();
  if (choice) ways.record(way, static_cast<double>(end - start) / static_cast<double>(macs));
  last_product_end.store(end, std::memory_order_relaxed);
}

}  // namespace

template <>
void gemm<float>(const GemmShape& s, float alpha, const float* a, std::size_t lda, const float* b,
                 std::size_t ldb, float beta, float* c, std::size_t ldc, const Epilogue<float>& epilogue) {
  const Isa isa = widest_isa();  // here, on the caller: a bad BPNET_MAX_ISA throws before any work starts
  if (few_rows_forward(s)) {
    few_rows_product(isa, s, alpha, a, lda, b, ldb, beta, c, ldc);
    finish_reference(s.m, s.n, epilogue, c, ldc);
    return;
  }
  with_kernel_team([&](ThreadTeam* team) {
    gemm_packed(isa, s, alpha, a, lda, b, ldb, beta, c, ldc, team, nullptr, epilogue);
  });
}

namespace {

template <typename T>
void bias_then_gemm(const GemmShape& s, const T* a, std::size_t lda, const T* b, std::size_t ldb, const T* bias, T* c,
                    std::size_t ldc, const Epilogue<T>& epilogue) {
  for (std::size_t i = 0; i < s.m; ++i) std::copy_n(bias, s.n, c + i * ldc);
  gemm<T>(s, T(1), a, lda, b, ldb, T(1), c, ldc, epilogue);
}

// A forward whose weights (N x K) outnumber its batch (M x K) twice or more
// is computed as its transpose (gemm_packed_by_weight_rows): the weights are
// read where they are instead of being packed afresh, and only the batch is.
// On Zen 5, hot caches, throwaway loop, one and two threads: 2000 x 2500 for
// 128 rows 1.19x and 1.20x, 500 x 1000 1.11x and 1.07x, keras-seed's first
// layer (128 x 784, 64 rows) 1.09x and 1.16x; torch-seed's (128 rows) 0.98x,
// below the threshold. 784-2500-2000-1500-1000-500-10 trained 6-9% faster
// (an epoch of 6,400 images 1.270 and 1.281 s against 1.397 and 1.332,
// alternating runs of e2e_bench --big; docs/performance.md).
bool by_weight_rows(const GemmShape& s, const Epilogue<float>& epilogue) {
  return s.trans_a == Transpose::no && s.trans_b == Transpose::yes && epilogue.mask == nullptr && s.n >= 2 * s.m;
}

}  // namespace

template <>
void gemm_plus_bias<float>(const GemmShape& s, const float* a, std::size_t lda, const float* b, std::size_t ldb,
                           const float* bias, float* c, std::size_t ldc, const Epilogue<float>& epilogue) {
  const Isa isa = widest_isa();  // as in gemm<float>
  if (few_rows_forward(s)) {
    bias_then_gemm(s, a, lda, b, ldb, bias, c, ldc, epilogue);
    return;
  }
  if (by_weight_rows(s, epilogue)) {
    with_kernel_team([&](ThreadTeam* team) {
      gemm_packed_by_weight_rows(isa, s.m, s.n, s.k, a, lda, b, ldb, bias, c, ldc, team, epilogue.finish);
    });
    return;
  }
  with_kernel_team([&](ThreadTeam* team) {
    gemm_packed(isa, s, 1.0f, a, lda, b, ldb, 1.0f, c, ldc, team, bias, epilogue);
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
