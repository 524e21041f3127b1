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

 private:
  void member_loop(int member);
  void run_member(int member);

  std::vector<std::thread> threads_;
  const std::function<void(int)>* task_ = nullptr;
  std::atomic<std::uint32_t> generation_{0};  // bumped to start a round
  std::atomic<std::uint32_t> running_{0};     // members still busy in this round
  std::atomic<bool> quit_{false};
  std::mutex error_mutex_;
  std::exception_ptr error_;
};

}  // namespace bpnet
