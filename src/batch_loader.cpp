#include "batch_loader.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "bpnet/error.hpp"
#include "kernels/kernel_threads.hpp"
#include "parallel/thread_team.hpp"
#include "simd.hpp"

namespace bpnet {

PixelScale pixel_scale(Normalize normalize) {
  if (normalize == Normalize::torch) return {2.0f / 255.0f, -1.0f};
  return {1.0f / 255.0f, 0.0f};
}

namespace {

BPNET_VECTOR_LOOP void convert_row(const std::uint8_t* image, std::size_t n, float scale, float offset, float* out) {
  for (std::size_t j = 0; j < n; ++j) out[j] = static_cast<float>(image[j]) * scale + offset;
}

// The same map on pixel values already in float (distorted images), in place.
BPNET_VECTOR_LOOP void scale_row(float* row, std::size_t n, float scale, float offset) {
  for (std::size_t j = 0; j < n; ++j) row[j] = row[j] * scale + offset;
}

// Rows [begin, end) of gather_batch. The images of a shuffled batch lie
// anywhere in the data set, mostly outside the caches: the lines of the
// image two rows ahead are requested while this one converts, past `end`
// too, so that a chunk of a batch converted ahead finds its first rows on
// their way.
void gather_rows(const Dataset& data, std::span<const std::uint32_t> indices, PixelScale pixels,
                 MatrixView<float> x, std::span<std::uint8_t> labels, std::size_t begin, std::size_t end) {
  constexpr std::size_t kLine = 64, kAhead = 2;
  const std::size_t features = data.features();
  for (std::size_t r = begin; r < end; ++r) {
    if (r + kAhead < indices.size()) {
      const std::uint8_t* next = data.image(indices[r + kAhead]);
      for (std::size_t b = 0; b < features; b += kLine) __builtin_prefetch(next + b);
    }
    convert_row(data.image(indices[r]), features, pixels.scale, pixels.offset, x.row(r));
    labels[r] = data.labels[indices[r]];
  }
}

}  // namespace

// The next batch, converted while the step before it runs by the kernel
// team's members when they would wait anyway (a step's small layers and its
// loss run on the calling thread alone), a few rows at a time: whoever
// claims a chunk of rows converts it, and next() converts what is left when
// the batch is asked for. The rows are the same whoever converts them. This
// takes the conversion (8% of a torch-seed step on two threads) off the
// step's path.
class BatchLoader::Ahead final : public IdleWork {
 public:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::size_t batch = kNone;  // the batch on offer or converted, or kNone

  void start(const Dataset& data, std::span<const std::uint32_t> indices, PixelScale pixels, MatrixView<float> x,
             std::span<std::uint8_t> labels) {
    data_ = &data;
    indices_ = indices;
    pixels_ = pixels;
    x_ = x;
    labels_ = labels;
    next_row_.store(0, std::memory_order_relaxed);
  }

  bool run_chunk() noexcept override {
    const std::size_t begin = next_row_.fetch_add(kRows, std::memory_order_relaxed);
    if (begin >= indices_.size()) return false;
    gather_rows(*data_, indices_, pixels_, x_, labels_, begin, std::min(begin + kRows, indices_.size()));
    return true;
  }

  // Ends the offer and converts the rows nobody claimed.
  void finish() {
    withdraw_idle_work(*this);
    while (run_chunk()) {
    }
  }

 private:
  // About half a microsecond of converting MNIST images: the longest a round
  // of the kernel team can wait for a member busy with a chunk.
  static constexpr std::size_t kRows = 4;
  const Dataset* data_ = nullptr;
  std::span<const std::uint32_t> indices_;
  PixelScale pixels_;
  MatrixView<float> x_;
  std::span<std::uint8_t> labels_;
  std::atomic<std::size_t> next_row_{0};
};

void gather_batch(const Dataset& data, std::span<const std::uint32_t> indices, PixelScale pixels,
                  MatrixView<float> x, std::span<std::uint8_t> labels) {
  // Rows split over the kernel threads: each row's conversion is independent.
  for_each_piece(indices.size(), 1, 16, [&](std::size_t begin, std::size_t end) {
    gather_rows(data, indices, pixels, x, labels, begin, end);
  });
}

BatchLoader::BatchLoader(const Dataset& data, Normalize normalize, std::size_t batch_size, int workers,
                         const AugmentOptions& augment, std::uint64_t seed)
    : data_(data), pixels_(pixel_scale(normalize)), batch_size_(batch_size), seed_(seed) {
  if (batch_size == 0) throw ConfigError("batch size must be at least 1");
  if (workers < 0 || workers > 16) {
    throw ConfigError(fmt::format("--workers must be in [0, 16] (got {})", workers));
  }
  // Two buffers per worker let each prepare one batch while another waits;
  // with none, a second buffer is the one converted ahead (a data set of one
  // batch never has a next one).
  const bool ahead = workers == 0 && !augment.enabled() && batch_size < data.count;
  slots_.resize(workers == 0 ? (ahead ? 2 : 1) : 2 * static_cast<std::size_t>(workers));
  if (ahead) ahead_ = std::make_unique<Ahead>();
  // A batch larger than the data set is the whole data set: allocate no more.
  const std::size_t rows = std::min(batch_size, std::max<std::size_t>(data.count, 1));
  for (auto& slot : slots_) {
    slot.x.resize(rows, data.features());
    slot.labels.resize(rows);
    if (augment.enabled()) slot.distorter.emplace(augment, data.rows, data.cols);
  }
  for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { worker_loop(); });
}

BatchLoader::~BatchLoader() {
  if (ahead_) withdraw_idle_work(*ahead_);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void BatchLoader::fill(Slot& slot, std::size_t batch) {
  const std::size_t begin = batch * batch_size_;
  const std::size_t size = std::min(batch_size_, order_.size() - begin);
  slot.x.resize(size, data_.features());
  const std::span<const std::uint32_t> indices = std::span(order_).subspan(begin, size);
  if (slot.distorter) {
    for (std::size_t r = 0; r < size; ++r) {
      float* row = slot.x.view().row(r);
      slot.distorter->distort(data_.image(indices[r]), seed_, epoch_, indices[r], row);
      scale_row(row, data_.features(), pixels_.scale, pixels_.offset);
      slot.labels[r] = data_.labels[indices[r]];
    }
  } else {
    const std::span<std::uint8_t> labels = std::span(slot.labels).first(size);
    // A worker gathers alone: the kernel threads belong to the training step.
    if (workers_.empty()) {
      gather_batch(data_, indices, pixels_, slot.x, labels);
    } else {
      gather_rows(data_, indices, pixels_, slot.x, labels, 0, size);
    }
  }
  slot.batch = batch;
}

void BatchLoader::start_epoch(std::span<const std::uint32_t> order, std::size_t first_batch, std::uint64_t epoch) {
  std::unique_lock lock(mutex_);
  // Let workers finish what they are writing before the order changes.
  changed_.wait(lock, [&] {
    return std::none_of(slots_.begin(), slots_.end(),
                        [](const Slot& s) { return s.state == SlotState::filling; });
  });
  for (auto& slot : slots_) slot.state = SlotState::free;
  if (ahead_) {
    withdraw_idle_work(*ahead_);
    ahead_->batch = Ahead::kNone;
  }
  order_.assign(order.begin(), order.end());
  epoch_ = epoch;
  batch_count_ = (order_.size() + batch_size_ - 1) / batch_size_;
  next_to_claim_ = next_to_serve_ = std::min(first_batch, batch_count_);
  holding_slot_ = false;
  lock.unlock();
  changed_.notify_all();
}

Batch BatchLoader::next() {
  const std::size_t batch = next_to_serve_++;
  Slot* slot = nullptr;
  if (workers_.empty()) {
    slot = &slots_[batch % slots_.size()];
    if (ahead_ && ahead_->batch == batch) {
      ahead_->finish();
    } else {
      fill(*slot, batch);
    }
    convert_ahead(batch + 1);
  } else {
    std::unique_lock lock(mutex_);
    if (holding_slot_) slots_[(batch - 1) % slots_.size()].state = SlotState::free;
    holding_slot_ = true;
    changed_.notify_all();
    slot = &slots_[batch % slots_.size()];
    changed_.wait(lock, [&] { return slot->state == SlotState::ready && slot->batch == batch; });
  }
  return {slot->x, std::span<const std::uint8_t>(slot->labels).first(slot->x.rows())};
}

// Offers `batch` (if the epoch has it) to the kernel team's waiting members.
void BatchLoader::convert_ahead(std::size_t batch) {
  if (!ahead_) return;
  ahead_->batch = Ahead::kNone;
  if (batch >= batch_count_) return;
  Slot& slot = slots_[batch % slots_.size()];
  const std::size_t begin = batch * batch_size_;
  const std::size_t size = std::min(batch_size_, order_.size() - begin);
  slot.x.resize(size, data_.features());
  slot.batch = batch;
  ahead_->start(data_, std::span(order_).subspan(begin, size), pixels_, slot.x,
                std::span(slot.labels).first(size));
  if (offer_idle_work(*ahead_)) ahead_->batch = batch;
}

void BatchLoader::worker_loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [&] {
      return stopping_ || (next_to_claim_ < batch_count_ &&
                           slots_[next_to_claim_ % slots_.size()].state == SlotState::free);
    });
    if (stopping_) return;
    const std::size_t batch = next_to_claim_++;
    Slot& slot = slots_[batch % slots_.size()];
    slot.state = SlotState::filling;
    lock.unlock();
    fill(slot, batch);
    lock.lock();
    slot.state = SlotState::ready;
    changed_.notify_all();
  }
}

}  // namespace bpnet
