// How the processes of one training run talk: a small interface with one
// implementation that does nothing (a single process) and one over MPI
// (bpnet/mpi.hpp, an optional component). The training loop has one path:
// every step, each process computes the batch shards it owns and the
// communicator gathers all shards' gradients to every process, which then
// sum them in shard order, so K processes compute bit for bit what one
// process computes with the same shard count.
#pragma once

#include <cstdint>
#include <span>

namespace bpnet {

class Communicator {
 public:
  virtual ~Communicator() = default;
  // This process's index in [0, size()), and how many processes there are.
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Every process contributes `mine`; all receives the size() blocks in rank
  // order (all.size() == size() * mine.size()). Collective.
  virtual void all_gather(std::span<const float> mine, std::span<float> all) = 0;
  virtual void all_gather(std::span<const double> mine, std::span<double> all) = 0;
  // Copies root's `values` to every process. Collective.
  virtual void broadcast(std::span<float> values, int root) = 0;
  virtual void broadcast(std::span<std::uint64_t> values, int root) = 0;
  // True on every process if `flag` is true on any. Collective.
  virtual bool any(bool flag) = 0;
};

// True when this process was started by mpirun with more than one process
// (Open MPI's OMPI_COMM_WORLD_SIZE, or PMI_SIZE / PMIX_SIZE of other launchers).
bool launched_by_mpirun();
// The processes mpirun started on this machine (1 when not under mpirun).
int local_process_count();

// One process: gathering is copying, broadcasting does nothing.
class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_gather(std::span<const float> mine, std::span<float> all) override;
  void all_gather(std::span<const double> mine, std::span<double> all) override;
  void broadcast(std::span<float>, int) override {}
  void broadcast(std::span<std::uint64_t>, int) override {}
  bool any(bool flag) override { return flag; }
};

}  // namespace bpnet
