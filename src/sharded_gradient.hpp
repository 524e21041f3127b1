// Internal: the gradient of one batch, computed in a fixed number of shards.
//
// The batch's rows are split into S contiguous shards (shard_rows()); each
// shard runs forward, loss and backward on its own workspace into its own
// gradient buffer, on the kernel threads (shard s on thread s mod threads,
// its products computed alone; with fewer shards than threads, one shard at
// a time with its products cut over the threads); then the shard gradients
// are summed in shard order 0, 1, ..., S-1 and added to the model's
// gradient. The sum does not depend on which thread (or which process,
// through the communicator) computed a shard, so a seed and a shard count
// give the same model for any thread or process count.
//
// What changes with S: the order of the floating-point sums (not the
// mathematics), and BatchNorm1d, which normalises each shard by its own
// statistics and keeps shard 0's in its running buffers - what PyTorch's
// DistributedDataParallel does with one shard per process.
//
// Shapes: P parameters, S shards, x (B, in), labels (B).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "bpnet/communicator.hpp"
#include "bpnet/loss.hpp"
#include "bpnet/model.hpp"

namespace bpnet {

// Rows [shard_begin(s), shard_begin(s + 1)) of a batch of `rows` form shard
// s; their sizes differ by one at most, and shard 0 is empty only if rows is.
inline std::size_t shard_begin(std::size_t s, std::size_t rows, std::size_t shards) {
  return (s * rows + shards - 1) / shards;
}

struct ShardedTotals {
  double loss_sum = 0;      // summed per-image loss of the batch
  std::size_t correct = 0;  // images whose argmax is the label
};

class ShardedGradient {
 public:
  // shards >= 1 and a multiple of comm.size(); threads >= 1 compute this
  // process's shards. `comm` must outlive this.
  ShardedGradient(const Model<float>& model, std::size_t shards, int threads, Communicator& comm);
  ~ShardedGradient();

  std::size_t shards() const { return shards_; }
  int threads() const { return threads_; }
  // Sets the kernel threads to threads() if they are not (accumulate() does).
  void use_own_thread_count() const;

  // model.gradients() += (or =) d(scale * summed loss)/d(parameters) over
  // the batch; folds shard 0's batch statistics into the model's buffers
  // (BatchNorm1d). Every process passes the same whole batch and gets the
  // same result.
  ShardedTotals accumulate(Model<float>& model, const Loss<float>& loss, ConstMatrixView<float> x,
                           std::span<const std::uint8_t> labels, float scale, const TrainingStep& step,
                           GradientWrite write);

 private:
  struct Shard;
  // Shard s's gradient += (or =) into `gradient`; its loss and correct count into totals_.
  void compute_shard(std::size_t s, const Model<float>& model, const Loss<float>& loss, ConstMatrixView<float> x,
                     std::span<const std::uint8_t> labels, float scale, const TrainingStep& step,
                     std::span<float> gradient, GradientWrite write);
  // Shards [first_owned_, first_owned_ + owned_) into their buffers.
  void compute_owned_shards(const Model<float>& model, const Loss<float>& loss, ConstMatrixView<float> x,
                            std::span<const std::uint8_t> labels, float scale, const TrainingStep& step);
  // gradient += (or =) the sum of the shards' gradients, in shard order.
  void reduce_into(std::span<float> gradient, GradientWrite write);

  std::size_t shards_;
  std::size_t parameters_;
  std::size_t first_owned_, owned_;  // this process's shards
  int threads_ = 1;  // kernel threads
  Communicator& comm_;
  std::vector<std::unique_ptr<Shard>> local_;  // this process's shards
  AlignedVector<float> gradients_;              // (S, P): every shard's, after gathering
  std::vector<double> totals_;                 // (S, 2): loss sum and correct count per shard
};

}  // namespace bpnet
