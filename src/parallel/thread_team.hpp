// Internal: a fixed team of threads that runs one task per member, again and
// again, with little hand-off cost: a training step of the preset networks
// lasts a fraction of a millisecond, so waking threads through a mutex and a
// condition variable for every batch would cost a visible share of it.
// Members spin briefly, then sleep on a futex (Linux).
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace bpnet {

// Work the members of a team take up while they wait for its next round, a
// short chunk at a time, so that a round that begins meanwhile waits for one
// chunk at most (ThreadTeam::offer).
class IdleWork {
 public:
  virtual ~IdleWork() = default;
  // Does one short piece of the work; false when none is left. Called by
  // several members at once; must not throw.
  virtual bool run_chunk() noexcept = 0;
};

class ThreadTeam {
 public:
  // size >= 1 members; the calling thread of run() is member 0, so size - 1
  // threads are started.
  explicit ThreadTeam(int size);
  ~ThreadTeam();
  ThreadTeam(const ThreadTeam&) = delete;
  ThreadTeam& operator=(const ThreadTeam&) = delete;

  int size() const { return static_cast<int>(threads_.size()) + 1; }
  // Calls task(member) once for every member in [0, size()), each on its own
  // thread, and returns when all have returned; rethrows the first exception
  // one of them threw. Not re-entrant.
  void run(const std::function<void(int)>& task);

  // Lets the members (not the caller of run()) call work.run_chunk() while
  // they wait for a round, until it returns false or the offer is withdrawn:
  // the time a member would spend waiting while the caller computes alone
  // (a small layer, the loss) does the work instead. False, and nothing
  // offered, when other work is on offer or there are no members. A member
  // that is asleep (no round or chunk for a whole spin) does not join in.
  bool offer(IdleWork& work);
  // Wakes the members that sleep, to look for offered work (or the next
  // round) before they sleep again; no system call when none sleeps.
  void wake_idle();
  // Ends the offer of `work` (if it is on offer); returns once no member is
  // inside work.run_chunk(), whose effects are then visible to the caller.
  void withdraw(IdleWork& work);

 private:
  void member_loop(int member);
  void run_member(int member);
  void wait_for_round(std::uint32_t seen);
  bool run_idle_chunk();

  std::vector<std::thread> threads_;
  const std::function<void(int)>* task_ = nullptr;
  std::atomic<std::uint32_t> generation_{0};  // bumped to start a round
  std::atomic<std::uint32_t> running_{0};     // members still busy in this round
  std::atomic<int> generation_sleepers_{0};   // members asleep on generation_
  std::atomic<int> running_sleepers_{0};      // callers asleep on running_ (0 or 1)
  std::atomic<bool> quit_{false};
  std::atomic<IdleWork*> idle_work_{nullptr};
  std::atomic<int> in_idle_work_{0};  // members inside idle_work_->run_chunk()
  std::atomic<std::uint32_t> offers_{0};  // numbers the offers, so a member knows a new one
  std::mutex error_mutex_;
  std::exception_ptr error_;
};

}  // namespace bpnet
