#include "kernel_threads.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include "../parallel/thread_team.hpp"

namespace bpnet {
namespace {

struct KernelTeam {
  std::mutex busy;                   // held while the team runs, and to resize it
  std::mutex offers;                 // held to offer or withdraw idle work, and to resize
  std::unique_ptr<ThreadTeam> team;  // null: one thread
  std::atomic<int> threads{1};       // readable while a product runs
};

int all_cores() {
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return cores > 0 ? cores : 1;
}

void resize(KernelTeam& shared, int threads) {
  const std::lock_guard lock(shared.offers);
  shared.team = threads > 1 ? std::make_unique<ThreadTeam>(threads) : nullptr;
  shared.threads.store(threads, std::memory_order_relaxed);
}

// The process's team, made on first use and never destroyed (its threads
// outlive static destructors). A child process made by fork() has none of
// the parent's threads, only their team's state: a product there would wait
// for members that do not exist (e2e_bench's children hung so). So the child
// forgets the parent's team, leaking it, and makes its own, of as many
// threads, when it first needs one.
std::atomic<KernelTeam*> current_team{nullptr};
int threads_after_fork = 0;  // 0: all cores

void forget_team_in_child() {
  if (KernelTeam* parents = current_team.load(std::memory_order_relaxed)) {
    threads_after_fork = parents->threads.load(std::memory_order_relaxed);
  }
  current_team.store(nullptr, std::memory_order_relaxed);
}

KernelTeam& kernel_team() {
  KernelTeam* team = current_team.load(std::memory_order_acquire);
  if (team != nullptr) return *team;
  static std::once_flag registered;
  std::call_once(registered, [] { pthread_atfork(nullptr, nullptr, forget_team_in_child); });
  auto* made = new KernelTeam;
  resize(*made, threads_after_fork > 0 ? threads_after_fork : all_cores());
  if (current_team.compare_exchange_strong(team, made, std::memory_order_acq_rel)) return *made;
  delete made;  // another thread made one first
  return *team;
}

}  // namespace

void set_kernel_threads(int threads) {
  const int wanted = threads > 0 ? std::min(threads, all_cores()) : all_cores();
  KernelTeam& shared = kernel_team();
  const std::lock_guard lock(shared.busy);
  if (wanted != shared.threads) resize(shared, wanted);
}

int kernel_threads() { return kernel_team().threads.load(std::memory_order_relaxed); }

namespace {
// Set on the thread that holds the team while its work runs: a product
// called from inside that work (its member 0 is this thread) computes alone,
// as the other members' calls do, who find the team busy.
thread_local bool holding_team = false;
}  // namespace

void with_kernel_team(const std::function<void(ThreadTeam*)>& fn) {
  if (holding_team) {
    fn(nullptr);
    return;
  }
  KernelTeam& shared = kernel_team();
  std::unique_lock lock(shared.busy, std::try_to_lock);
  if (!lock.owns_lock()) {
    fn(nullptr);
    return;
  }
  holding_team = true;
  struct Release {
    ~Release() { holding_team = false; }
  } release;
  fn(shared.team.get());
}

bool offer_idle_work(IdleWork& work, bool wake_sleepers) {
  KernelTeam& shared = kernel_team();
  const std::lock_guard lock(shared.offers);
  if (shared.team == nullptr || !shared.team->offer(work)) return false;
  if (wake_sleepers) shared.team->wake_idle();
  return true;
}

void withdraw_idle_work(IdleWork& work) {
  KernelTeam& shared = kernel_team();
  const std::lock_guard lock(shared.offers);
  if (shared.team != nullptr) shared.team->withdraw(work);
}

void for_each_piece(std::size_t n, std::size_t grain, std::size_t min_n,
                    const std::function<void(std::size_t, std::size_t)>& body) {
  if (n < min_n) {
    body(0, n);
    return;
  }
  with_kernel_team([&](ThreadTeam* team) {
    if (team == nullptr) {
      body(0, n);
      return;
    }
    const auto members = static_cast<std::size_t>(team->size());
    const std::size_t grains = (n + grain - 1) / grain;
    team->run([&](int member) {
      const auto m = static_cast<std::size_t>(member);
      const std::size_t begin = std::min(n, grains * m / members * grain);
      const std::size_t end = std::min(n, grains * (m + 1) / members * grain);
      if (begin < end) body(begin, end);
    });
  });
}

void for_each_parameter_piece(std::size_t n, const std::function<void(std::size_t, std::size_t)>& body) {
  constexpr std::size_t kFloatsPerLine = 16, kMinParallel = 32 * 1024;
  for_each_piece(n, kFloatsPerLine, kMinParallel, body);
}

}  // namespace bpnet
