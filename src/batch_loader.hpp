// Internal: serving an epoch's mini-batches, optionally prepared ahead by
// worker threads (the num_workers idea of PyTorch's DataLoader).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "bpnet/augment.hpp"
#include "bpnet/dataset.hpp"
#include "bpnet/preprocess.hpp"
#include "bpnet/spec.hpp"
#include "bpnet/tensor.hpp"

namespace bpnet {

struct Batch {
  ConstMatrixView<float> x;              // (B, features)
  std::span<const std::uint8_t> labels;  // (B)
};

// Serves one epoch's batches in a given order, each image distorted afresh
// when distortions are on. With workers = 0 each batch is assembled on the
// calling thread when asked for; with workers > 0 that many threads prepare
// the next batches ahead, into a fixed ring of buffers (no allocation per
// batch). The batches are the same either way: an image's distortion depends
// only on (seed, epoch, image index). With workers = 0 and no distortions,
// the kernel team's members convert the next batch while they wait for the
// calling thread (BatchLoader::Ahead).
class BatchLoader {
 public:
  // batch_size >= 1; workers in [0, 16]. `augment` (none: the images as they
  // are) is drawn from `seed`.
  BatchLoader(const Dataset& data, Normalize normalize, std::size_t batch_size, int workers,
              const AugmentOptions& augment = {}, std::uint64_t seed = 0);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // Begins epoch `epoch` (0-based; it keys the distortions) over `order`
  // (indices into the data set) at batch `first_batch` (for resuming); the
  // last batch may be smaller. Abandons whatever is left of the previous epoch.
  void start_epoch(std::span<const std::uint32_t> order, std::size_t first_batch = 0, std::uint64_t epoch = 0);
  std::size_t batches_in_epoch() const { return batch_count_; }
  // The next batch; valid until the next call to next() or start_epoch().
  // Calling it more than batches_in_epoch() times is a logic error.
  Batch next();

 private:
  enum class SlotState { free, filling, ready };
  struct Slot {
    Matrix<float> x;
    std::vector<std::uint8_t> labels;
    std::optional<Distorter> distorter;  // when distortions are on: this slot's own scratch
    std::size_t batch = 0;
    SlotState state = SlotState::free;
  };

  void fill(Slot& slot, std::size_t batch);
  void worker_loop();
  class Ahead;
  void convert_ahead(std::size_t batch);

  const Dataset& data_;
  PixelScale pixels_;
  std::size_t batch_size_;
  std::uint64_t seed_;
  std::uint64_t epoch_ = 0;
  std::vector<std::uint32_t> order_;
  std::size_t batch_count_ = 0;

  std::vector<Slot> slots_;  // batch b lives in slots_[b % slots_.size()]
  std::size_t next_to_claim_ = 0;
  std::size_t next_to_serve_ = 0;
  bool holding_slot_ = false;  // the consumer still reads slots_[(next_to_serve_-1) % n]
  bool stopping_ = false;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::thread> workers_;
  std::unique_ptr<Ahead> ahead_;  // null: no conversion ahead
};

}  // namespace bpnet
