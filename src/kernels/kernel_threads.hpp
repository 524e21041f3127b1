// Internal: the kernel threads - one team for the process, as OpenBLAS has -
// that the GEMM and the passes over large arrays split their work over: the
// optimizer updates (with the finite check in them), zeroing the gradient,
// the batch's pixel conversion, the activations of a large batch; and that
// take whole units of work in turn, each computing alone: a batch's shards,
// evaluate()'s batches.
#pragma once

#include <cstddef>
#include <functional>

namespace bpnet {

class IdleWork;
class ThreadTeam;

// Threads the kernels may use; 0 means all cores (the default), and more
// than the cores means all cores: the team's members wait for each other by
// spinning, which only slows down on a shared core (results do not depend on
// the count either way).
void set_kernel_threads(int threads);
int kernel_threads();

// Runs fn(team) with the kernel team, or with nullptr (compute alone) when
// there is one thread or another caller holds the team at the moment: e.g. a
// server's predictors, batch shards on their own threads, or work that runs
// on the team itself (its products, called from the members, compute
// alone). Concurrent callers never wait on each other.
void with_kernel_team(const std::function<void(ThreadTeam*)>& fn);

// Offers `work` to the kernel team's waiting members (ThreadTeam::offer),
// waking those that sleep if asked: false when there is no team of several
// threads or it has other work on offer. withdraw_idle_work ends the offer,
// returning once no member runs a chunk of it (a no-op for work not on
// offer, e.g. after set_kernel_threads replaced the team).
bool offer_idle_work(IdleWork& work, bool wake_sleepers = false);
void withdraw_idle_work(IdleWork& work);

// body(begin, end) over [0, n) cut into one contiguous piece per kernel
// thread, each a multiple of `grain` long (the last one shorter); for work
// whose result does not depend on how it is cut. Under `min_n` items, or
// with no team free, the calling thread does it all.
void for_each_piece(std::size_t n, std::size_t grain, std::size_t min_n,
                    const std::function<void(std::size_t begin, std::size_t end)>& body);

// for_each_piece over an array the size of a model's parameters (their
// values, gradients, optimizer state): one cut shared by every pass over
// them - zeroing, the update - so that each thread takes the same part in
// all of them, from its own cache. Pieces are whole cache lines; models
// under 32 Ki parameters stay on the calling thread.
void for_each_parameter_piece(std::size_t n, const std::function<void(std::size_t begin, std::size_t end)>& body);

}  // namespace bpnet
