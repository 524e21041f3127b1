// Training: the configuration of a run, and a Trainer that runs it an epoch
// at a time so that callers can print, plot or checkpoint in between.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bpnet/batches.hpp"
#include "bpnet/dataset.hpp"
#include "bpnet/loss.hpp"
#include "bpnet/network.hpp"
#include "bpnet/optim.hpp"
#include "bpnet/random.hpp"
#include "bpnet/spec.hpp"

namespace bpnet {

struct TrainConfig {
  ModelSpec model;
  Init init = Init::torch;
  OptimizerOptions optimizer;
  std::size_t batch = 128;        // images per step, >= 1 (gd: per gradient chunk)
  std::size_t epochs = 15;        // >= 1
  double validation_split = 0.0;  // fraction held out for validation, in [0, 1)
  std::uint64_t seed = 1;         // initialisation and shuffling
  bool shuffle = true;            // reshuffle the training set every epoch
  int threads = 0;                // kernel threads; 0 = all cores
  int workers = 0;                // batch-preparation threads, in [0, 16]

  // Throws ConfigError naming the bad option.
  void validate() const;
};

struct EpochRecord {
  std::size_t epoch = 0;               // 1-based
  double loss = 0;                     // mean training loss over the epoch's batches
  double accuracy = 0;                 // training accuracy over the same batches
  std::optional<double> val_loss;      // on the held-out split, after the epoch
  std::optional<double> val_accuracy;
  double seconds = 0;                  // wall time of the epoch, validation included
};

// Everything that changes while a Trainer runs: with the TrainConfig and the
// data it is all a run needs to continue exactly where it stopped.
struct TrainerState {
  std::vector<EpochRecord> history;        // completed epochs
  std::array<std::uint64_t, 4> epoch_rng{};  // Rng state before this epoch's shuffle
  std::size_t steps_done = 0;              // batches finished in the current epoch
  double loss_sum = 0;                     // ...and their summed loss,
  std::size_t correct = 0, seen = 0;       // correct predictions, images,
  double seconds = 0;                      // wall time so far
  std::vector<float> parameters, gradients;
  std::vector<float> optimizer_state;
  std::uint64_t optimizer_steps = 0;
};

// Called after every step with (steps done, steps in epoch, running loss,
// running accuracy); for progress bars.
using StepCallback = std::function<void(std::size_t, std::size_t, double, double)>;

class Trainer {
 public:
  // Builds and initialises the network from config.seed. `validation` may be
  // null or empty. Both data sets must outlive the trainer (hence no temporaries).
  Trainer(const TrainConfig& config, const Dataset& train, const Dataset* validation = nullptr);
  Trainer(const TrainConfig&, Dataset&&, const Dataset* = nullptr) = delete;
  ~Trainer();

  // Trains (the rest of) one epoch and returns its record; returns nothing if
  // the stop flag was raised, after finishing the batch in hand. Calling it
  // again continues that epoch. Throws DivergenceError on a non-finite loss
  // or parameter, naming the epoch and batch.
  std::optional<EpochRecord> run_epoch(const StepCallback& on_step = {});
  // A flag (set from a signal handler, say) checked after every batch.
  void set_stop_flag(const std::atomic<bool>* stop) { stop_ = stop; }

  TrainerState state() const;
  // Continues from a state taken from a trainer of the same config and data.
  // Throws ConfigError if the state does not fit the network.
  void restore(const TrainerState& state);
  bool finished() const { return history_.size() >= config_.epochs; }

  Network<float>& network() { return *network_; }
  const TrainConfig& config() const { return config_; }
  const std::vector<EpochRecord>& history() const { return history_; }

 private:
  bool stop_requested() const { return stop_ && stop_->load(); }
  void begin_epoch();
  void check_finite(double batch_loss) const;
  double accumulate_gradient(const Batch& batch, float scale);


  TrainConfig config_;
  const Dataset& train_;
  const Dataset* validation_;  // null: no validation
  Rng rng_;
  std::unique_ptr<Network<float>> network_;
  std::unique_ptr<Loss<float>> loss_;
  std::unique_ptr<Optimizer> optimizer_;
  BatchLoader loader_;
  std::vector<std::uint32_t> order_;
  Matrix<float> loss_grad_;  // (B, C)
  std::vector<EpochRecord> history_;
  // The epoch in progress (see TrainerState).
  bool in_epoch_ = false;
  std::array<std::uint64_t, 4> epoch_rng_{};
  std::size_t steps_done_ = 0;
  double loss_sum_ = 0;
  std::size_t correct_ = 0, seen_ = 0;
  double seconds_ = 0;
  const std::atomic<bool>* stop_ = nullptr;
};

}  // namespace bpnet
