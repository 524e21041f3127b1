// The communicator over MPI (Open MPI from Debian): an optional component,
// built when CMake finds MPI (BPNET_HAVE_MPI); the rest of bpnet builds and
// runs without it.
//
// Every collective waits at most `timeout_seconds` for the other processes:
// a process that died or hangs makes the others stop with a one-line error
// (and MPI_Abort, which ends the whole job) instead of waiting forever.
#pragma once

#include <string>

#include "bpnet/communicator.hpp"

namespace bpnet {

class MpiCommunicator final : public Communicator {
 public:
  // Starts MPI (once per process). Throws Error if it cannot.
  explicit MpiCommunicator(double timeout_seconds);
  ~MpiCommunicator() override;  // MPI_Finalize
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void all_gather(std::span<const float> mine, std::span<float> all) override;
  void all_gather(std::span<const double> mine, std::span<double> all) override;
  void broadcast(std::span<float> values, int root) override;
  void broadcast(std::span<std::uint64_t> values, int root) override;
  bool any(bool flag) override;

  // Ends every process of the job at once, after printing `message` (this
  // process's rank prefixed) on stderr.
  [[noreturn]] void abort(const std::string& message);

 private:
  int rank_ = 0, size_ = 1;
  double timeout_seconds_;
};

}  // namespace bpnet
