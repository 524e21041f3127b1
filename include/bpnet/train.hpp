// Training: the configuration of a run, a Trainer that runs it an epoch at a
// time, and fit(), the loop with callbacks that a program configures.
//
// One step: forward (train mode) and backward over the batch's shards, each
// writing its gradient (no zeroing pass) -> sum the shards' gradients in
// shard order -> lr = schedule(epoch, step) -> optimizer.step(parameters,
// gradients, lr), which also says whether they stayed finite. The shards run
// on the compute threads (and, under MPI, on several processes); a seed and a
// shard count give the same model for any number of threads or processes.
// Full-batch gradient descent (optimizer gd) is a batching policy: the
// gradient of the whole training set is accumulated chunk by chunk and one
// step is taken per epoch.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bpnet/augment.hpp"
#include "bpnet/communicator.hpp"
#include "bpnet/dataset.hpp"
#include "bpnet/early_stopping.hpp"
#include "bpnet/loss.hpp"
#include "bpnet/model.hpp"
#include "bpnet/optim.hpp"
#include "bpnet/random.hpp"
#include "bpnet/schedule.hpp"
#include "bpnet/spec.hpp"

namespace bpnet {

class BatchLoader;      // src/batch_loader.hpp
class ShardedGradient;  // src/sharded_gradient.hpp

struct TrainConfig {
  ModelSpec model;                  // inputs 0: taken from the training images
  Init init = Init::torch;
  OptimizerOptions optimizer;
  ScheduleOptions schedule;
  EarlyStoppingOptions early_stopping;
  AugmentOptions augment;           // distortions of the training images (none by default)
  double label_smoothing = 0;       // in [0, 1): targets (1 - e) onehot + e / C; nll and cross-entropy only
  std::size_t batch = 128;          // images per step, >= 1 (gd: per gradient chunk)
  std::size_t epochs = 15;          // >= 1
  std::size_t train_images = 0;     // use the first N of the training split (0: all), before the validation split
  double validation_split = 0.0;    // fraction held out for validation, in [0, 1)
  std::uint64_t seed = 1;           // initialisation, shuffling and dropout
  bool shuffle = true;              // reshuffle the training set every epoch
  int threads = 0;                  // compute threads, in [0, 1024]; 0 = all cores
  std::size_t shards = 1;           // each batch is split into this many, in [1, 256]; a
                                    // multiple of the processes under MPI (see docs/performance.md)
  int workers = 0;                  // batch-preparation (and distortion) threads, in [0, 16]

  // Throws ConfigError naming the bad option.
  void validate() const;
};

struct EpochRecord {
  std::size_t epoch = 0;               // 1-based
  double loss = 0;                     // mean training loss over the epoch's batches
  double accuracy = 0;                 // training accuracy over the same batches
  std::optional<double> val_loss;      // on the held-out split, after the epoch
  std::optional<double> val_accuracy;
  double lr = 0;                       // learning rate of the epoch's last step
  double seconds = 0;                  // wall time of the epoch, validation included
};

// Everything that changes while a Trainer runs: with the TrainConfig and the
// data it is all a run needs to continue exactly where it stopped.
struct TrainerState {
  std::vector<EpochRecord> history;          // completed epochs
  std::array<std::uint64_t, 4> epoch_rng{};  // Rng state before this epoch's shuffle
  std::size_t steps_done = 0;                // batches finished in the current epoch
  double loss_sum = 0;                       // ...and their summed loss,
  std::size_t correct = 0, seen = 0;         // correct predictions, images,
  double seconds = 0;                        // wall time so far
  std::vector<float> parameters, gradients, buffers;
  std::vector<float> optimizer_state;
  std::uint64_t optimizer_steps = 0;
  ScheduleState schedule;
  EarlyStoppingState early_stopping;
  std::vector<float> best_parameters, best_buffers;  // the best epoch's (early stopping)
};

// Called after every step with (steps done, steps in epoch, running loss,
// running accuracy); for progress bars.
using StepCallback = std::function<void(std::size_t, std::size_t, double, double)>;

class Trainer {
 public:
  // Builds and initialises the model from config.seed (inputs and image shape
  // from `train`). `validation` may be null or empty. Both data sets must
  // outlive the trainer (hence no temporaries). `comm` (null: this process
  // alone) must outlive it too; under it every process runs the same calls
  // with the same data and ends with the same model. Throws ConfigError if
  // the config or the labels do not fit.
  Trainer(const TrainConfig& config, const Dataset& train, const Dataset* validation = nullptr,
          Communicator* comm = nullptr);
  Trainer(const TrainConfig&, Dataset&&, const Dataset* = nullptr, Communicator* = nullptr) = delete;
  ~Trainer();

  // Starts from another model's parameters and buffers (fine-tuning). Throws
  // ConfigError unless its inputs and layer list are the same as ours.
  void start_from(const Model<float>& model, const std::string& name);

  // Trains (the rest of) one epoch and returns its record; returns nothing if
  // the stop flag was raised, after finishing the batch in hand. Calling it
  // again continues that epoch. Throws DivergenceError on a non-finite loss
  // or parameter, naming the epoch and batch.
  std::optional<EpochRecord> run_epoch(const StepCallback& on_step = {});
  // A flag (set from a signal handler, say) checked after every batch.
  void set_stop_flag(const std::atomic<bool>* stop) { stop_ = stop; }
  // Whether the flag is raised in any process (collective: every process
  // asks at the same points).
  bool stop_requested();

  // Replaces the schedule: step n of the run (counted from 0 over all
  // epochs) takes rate(n). For probes such as the learning-rate range test.
  void override_lr(std::function<double(std::uint64_t)> rate) { lr_override_ = std::move(rate); }

  TrainerState state() const;
  // Continues from a state taken from a trainer of the same config and data.
  // Throws ConfigError if the state does not fit the model.
  void restore(const TrainerState& state);
  // All epochs done, or early stopping ran out of patience.
  bool finished() const { return history_.size() >= config_.epochs || early_.stopped; }
  bool stopped_early() const { return early_.stopped; }
  // The epoch whose weights the model holds at the end (early stopping), or 0.
  std::size_t best_epoch() const { return early_.best_epoch; }

  Model<float>& model() { return *model_; }
  const Model<float>& model() const { return *model_; }
  const TrainConfig& config() const { return config_; }
  const std::vector<EpochRecord>& history() const { return history_; }
  std::size_t steps_per_epoch() const;

 private:
  void begin_epoch();
  // Throws DivergenceError when the loss or a parameter is not finite.
  void check_finite(double batch_loss, bool parameters_finite) const;
  double accumulate_gradient(ConstMatrixView<float> x, std::span<const std::uint8_t> labels, float scale,
                             GradientWrite write);
  void check_batch_norm_shards() const;
  void end_epoch(EpochRecord& record);
  // Returns whether every parameter is finite after the step.
  bool step_optimizer();

  TrainConfig config_;
  const Dataset& train_;
  const Dataset* validation_;  // null: no validation
  Rng rng_;
  std::unique_ptr<LocalCommunicator> own_comm_;  // when none was given
  Communicator* comm_;
  std::unique_ptr<Model<float>> model_;
  std::unique_ptr<ShardedGradient> sharded_;
  std::unique_ptr<Loss<float>> loss_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<LrSchedule> schedule_;
  std::unique_ptr<BatchLoader> loader_;
  std::vector<std::uint32_t> order_;
  std::vector<EpochRecord> history_;
  EarlyStoppingState early_;
  std::vector<float> best_parameters_, best_buffers_;
  // The epoch in progress (see TrainerState).
  bool in_epoch_ = false;
  std::array<std::uint64_t, 4> epoch_rng_{};
  std::size_t steps_done_ = 0;
  double loss_sum_ = 0;
  std::size_t correct_ = 0, seen_ = 0;
  double seconds_ = 0;
  const std::atomic<bool>* stop_ = nullptr;
  std::function<double(std::uint64_t)> lr_override_;
};

// The training loop. Callbacks are optional; each sees the trainer.
struct FitCallbacks {
  StepCallback on_step = {};                              // after every batch (progress bars)
  std::function<void()> on_epoch_start = {};              // before each epoch
  std::function<void(const EpochRecord&)> on_epoch = {};  // after each epoch (print, checkpoint)
};

enum class FitOutcome { completed, early_stopped, interrupted };
std::string_view name(FitOutcome);

// Runs epochs until the trainer is finished or its stop flag is raised: in
// an epoch, after the batch in hand; between epochs, before the next starts.
FitOutcome fit(Trainer& trainer, const FitCallbacks& callbacks = {});

}  // namespace bpnet
