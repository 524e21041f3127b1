#include "processes.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <thread>

#include "bpnet/error.hpp"
#ifdef BPNET_HAVE_MPI
#include "bpnet/mpi.hpp"
#endif

namespace bpnet::cli {

std::unique_ptr<Communicator> connect_processes(double timeout_seconds) {
  if (!launched_by_mpirun()) return std::make_unique<LocalCommunicator>();
#ifdef BPNET_HAVE_MPI
  return std::make_unique<MpiCommunicator>(timeout_seconds);
#else
  (void)timeout_seconds;
  throw ConfigError("started by mpirun with several processes, but this bpnet was built without MPI "
                    "(install libopenmpi-dev and rebuild)");
#endif
}

namespace {

// FNV-1a: a stable hash of the fingerprint text, the same in every process.
std::uint64_t stable_hash(const std::string& text) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ull;
  }
  return hash;
}

}  // namespace

void check_same_data(Communicator& comm, const std::string& fingerprint) {
  if (comm.size() == 1) return;
  std::uint64_t first[1] = {stable_hash(fingerprint)};
  comm.broadcast(first, 0);
  const bool differs = first[0] != stable_hash(fingerprint);
  if (comm.any(differs)) {
    throw ConfigError(fmt::format("process {} of {}: the processes did not load the same data (this one: {}); "
                                  "every process reads --data from its own path, which must hold the same files",
                                  comm.rank(), comm.size(), fingerprint));
  }
}

void fit_to_processes(TrainConfig& config, const Communicator& comm, bool shards_given, bool threads_given) {
  const auto processes = static_cast<std::size_t>(comm.size());
  if (processes == 1) return;
  if (!shards_given && config.shards % processes != 0) config.shards = processes;
  if (!threads_given && config.threads == 0) {
    const int cores = static_cast<int>(std::thread::hardware_concurrency());
    config.threads = std::max(1, cores / local_process_count());
  }
}

void silence_stdout() {
  if (std::freopen("/dev/null", "w", stdout) == nullptr) throw Error("cannot redirect stdout to /dev/null");
}

}  // namespace bpnet::cli
