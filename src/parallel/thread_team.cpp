#include "thread_team.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>

namespace bpnet {
namespace {

// About 20-50 us of polling before sleeping: longer than the gap between two
// batches' rounds, far shorter than a scheduler tick.
constexpr int kSpinRounds = 4000;

// Polls of a waiting member before it takes up idle work (0.1-1.5 us: a
// pause lasts 10-140 cycles by CPU), longer than most gaps between the
// rounds of one layer's work, so that a member seldom starts a chunk just as
// the caller's next round begins.
constexpr int kIdleAfterRounds = 40;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));

std::uint32_t* futex_word(std::atomic<std::uint32_t>& value) { return reinterpret_cast<std::uint32_t*>(&value); }

// Sleeps in the kernel while `value` is `old` (it re-checks the value under
// its lock, so no wake-up is lost) until a wake_all() on it, counted in
// `sleepers` meanwhile so that wake_all() makes no system call when nobody
// sleeps: a round of a one-image forward (2-3 us) paid two futex calls, one
// on each thread, whose waiter was spinning. seq_cst on both sides (here
// the count, then the value; in the waker the value, then the count): either
// the waker sees this sleeper, or this sleeper sees the new value.
void sleep_while_equal(std::atomic<std::uint32_t>& value, std::uint32_t old, std::atomic<int>& sleepers) {
  sleepers.fetch_add(1, std::memory_order_seq_cst);
  if (value.load(std::memory_order_seq_cst) == old) {
    syscall(SYS_futex, futex_word(value), FUTEX_WAIT_PRIVATE, old, nullptr, nullptr, 0);
  }
  sleepers.fetch_sub(1, std::memory_order_relaxed);
}

// Waits until `value` differs from `old`: spin, then sleep.
void wait_while_equal(std::atomic<std::uint32_t>& value, std::uint32_t old, std::atomic<int>& sleepers) {
  for (int i = 0; i < kSpinRounds; ++i) {
    if (value.load(std::memory_order_acquire) != old) return;
    cpu_relax();
  }
  while (value.load(std::memory_order_acquire) == old) sleep_while_equal(value, old, sleepers);
}

// Wakes whoever sleeps on `value`: after the caller changed it with a
// seq_cst operation, or to have them look again (ThreadTeam::wake_idle).
void wake_all(std::atomic<std::uint32_t>& value, const std::atomic<int>& sleepers) {
  if (sleepers.load(std::memory_order_seq_cst) == 0) return;
  syscall(SYS_futex, futex_word(value), FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr, 0);
}

}  // namespace

ThreadTeam::ThreadTeam(int size) {
  for (int member = 1; member < size; ++member) threads_.emplace_back([this, member] { member_loop(member); });
}

ThreadTeam::~ThreadTeam() {
  quit_.store(true, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_seq_cst);
  wake_all(generation_, generation_sleepers_);
  for (std::thread& t : threads_) t.join();
}

void ThreadTeam::run_member(int member) {
  try {
    (*task_)(member);
  } catch (...) {
    const std::lock_guard lock(error_mutex_);
    if (!error_) error_ = std::current_exception();
  }
}

void ThreadTeam::run(const std::function<void(int)>& task) {
  if (threads_.empty()) {
    task(0);
    return;
  }
  task_ = &task;
  error_ = nullptr;
  running_.store(static_cast<std::uint32_t>(size()), std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_seq_cst);
  wake_all(generation_, generation_sleepers_);
  run_member(0);
  // Wait for the others: running_ counts down to 0.
  for (std::uint32_t left = running_.fetch_sub(1, std::memory_order_acq_rel) - 1; left != 0;
       left = running_.load(std::memory_order_acquire)) {
    wait_while_equal(running_, left, running_sleepers_);
  }
  task_ = nullptr;
  if (error_) std::rethrow_exception(error_);
}

bool ThreadTeam::offer(IdleWork& work) {
  if (threads_.empty()) return false;
  IdleWork* none = nullptr;
  if (!idle_work_.compare_exchange_strong(none, &work)) return false;
  offers_.fetch_add(1, std::memory_order_release);
  return true;
}

void ThreadTeam::withdraw(IdleWork& work) {
  IdleWork* expected = &work;
  if (!idle_work_.compare_exchange_strong(expected, nullptr)) return;
  // A member that counted itself in before the exchange may still hold the
  // work; one that counts itself in after it finds no work (both seq_cst).
  while (in_idle_work_.load() != 0) cpu_relax();
}

bool ThreadTeam::run_idle_chunk() {
  in_idle_work_.fetch_add(1);
  IdleWork* work = idle_work_.load();
  const bool more = work != nullptr && work->run_chunk();
  in_idle_work_.fetch_sub(1);
  return more;
}

// Waits for the next round: spinning, doing idle work while there is some,
// then asleep on the generation until a round begins or wake_idle() wakes
// it to look for offered work. The spin starts again after each chunk, so
// that work offered again and again (one image after another) finds the
// member awake; an offer whose work ran out is not asked again, a later
// one is.
void ThreadTeam::wait_for_round(std::uint32_t seen) {
  std::uint32_t spent_offer = 0;  // offers are numbered from 1
  for (;;) {
    for (int i = 0; i < kSpinRounds; ++i) {
      if (generation_.load(std::memory_order_acquire) != seen) return;
      if (i >= kIdleAfterRounds && idle_work_.load(std::memory_order_relaxed) != nullptr) {
        const std::uint32_t offer = offers_.load(std::memory_order_acquire);
        if (offer != spent_offer) {
          if (!run_idle_chunk()) spent_offer = offer;
          i = kIdleAfterRounds;
          continue;
        }
      }
      cpu_relax();
    }
    sleep_while_equal(generation_, seen, generation_sleepers_);
    if (generation_.load(std::memory_order_acquire) != seen) return;
  }
}

void ThreadTeam::wake_idle() { wake_all(generation_, generation_sleepers_); }

void ThreadTeam::member_loop(int member) {
  // Generation 0, not whatever it is by now: a thread that starts late must
  // still take part in the rounds begun before it ran.
  std::uint32_t seen = 0;
  for (;;) {
    wait_for_round(seen);
    seen = generation_.load(std::memory_order_acquire);
    if (quit_.load(std::memory_order_acquire)) return;
    run_member(member);
    if (running_.fetch_sub(1, std::memory_order_seq_cst) == 1) wake_all(running_, running_sleepers_);
  }
}

}  // namespace bpnet
