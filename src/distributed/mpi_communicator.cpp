// MPI collectives with a deadline: each is started non-blocking and polled,
// so that a dead or stopped process turns into an error within the timeout.
#include <fmt/format.h>
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "bpnet/error.hpp"
#include "bpnet/mpi.hpp"

namespace bpnet {

MpiCommunicator::MpiCommunicator(double timeout_seconds) : timeout_seconds_(timeout_seconds) {
  int provided = 0;
  // Only the main thread calls MPI; the shard threads never do.
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    throw Error("MPI could not start (MPI_Init_thread failed)");
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiCommunicator::~MpiCommunicator() { MPI_Finalize(); }

void MpiCommunicator::abort(const std::string& message) {
  std::fprintf(stderr, "bpnet: process %d of %d: %s\n", rank_, size_, message.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::_Exit(1);
}

namespace {

// Polls `request` until it completes; past the deadline, aborts the job.
void wait_or_abort(MpiCommunicator& comm, MPI_Request& request, double timeout_seconds, const char* what) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  int done = 0;
  for (;;) {
    // Open MPI advances a non-blocking collective only inside MPI calls, so
    // poll without pause while an answer is due (a step's exchange takes
    // micro- to milliseconds); after a second, poll every millisecond and
    // leave the core to whoever is still computing.
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) return;
    const double waited = std::chrono::duration<double>(Clock::now() - start).count();
    if (waited > 1.0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (waited > timeout_seconds) {
      comm.abort(fmt::format("no answer from the other processes for {:.0f} s during {} (one of them died or hangs; "
                             "--mpi-timeout sets the limit); stopping all of them",
                             timeout_seconds, what));
    }
  }
}

}  // namespace

namespace {

// All-gather of equal blocks, in place when `mine` is already this rank's block of `all`.
template <typename T>
void all_gather_blocks(MpiCommunicator& comm, std::span<const T> mine, std::span<T> all, MPI_Datatype type,
                       double timeout_seconds, const char* what) {
  MPI_Request request;
  const bool in_place = mine.data() == all.data() + static_cast<std::size_t>(comm.rank()) * mine.size();
  MPI_Iallgather(in_place ? MPI_IN_PLACE : mine.data(), static_cast<int>(mine.size()), type, all.data(),
                 static_cast<int>(mine.size()), type, MPI_COMM_WORLD, &request);
  wait_or_abort(comm, request, timeout_seconds, what);
}

}  // namespace

void MpiCommunicator::all_gather(std::span<const float> mine, std::span<float> all) {
  all_gather_blocks(*this, mine, all, MPI_FLOAT, timeout_seconds_, "the gradient exchange");
}

void MpiCommunicator::all_gather(std::span<const double> mine, std::span<double> all) {
  all_gather_blocks(*this, mine, all, MPI_DOUBLE, timeout_seconds_, "the metrics exchange");
}

void MpiCommunicator::broadcast(std::span<float> values, int root) {
  MPI_Request request;
  MPI_Ibcast(values.data(), static_cast<int>(values.size()), MPI_FLOAT, root, MPI_COMM_WORLD, &request);
  wait_or_abort(*this, request, timeout_seconds_, "a broadcast");
}

void MpiCommunicator::broadcast(std::span<std::uint64_t> values, int root) {
  MPI_Request request;
  MPI_Ibcast(values.data(), static_cast<int>(values.size()), MPI_UINT64_T, root, MPI_COMM_WORLD, &request);
  wait_or_abort(*this, request, timeout_seconds_, "a broadcast");
}

bool MpiCommunicator::any(bool flag) {
  int mine = flag ? 1 : 0, result = 0;
  MPI_Request request;
  MPI_Iallreduce(&mine, &result, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD, &request);
  wait_or_abort(*this, request, timeout_seconds_, "the stop check");
  return result != 0;
}

}  // namespace bpnet
