// Training: the configuration of a run, and a Trainer that runs it an epoch
// at a time so that callers can print, plot or checkpoint in between.
#pragma once

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

  // Trains one epoch; throws DivergenceError on a non-finite loss.
  EpochRecord run_epoch(const StepCallback& on_step = {});
  bool finished() const { return history_.size() >= config_.epochs; }

  Network<float>& network() { return *network_; }
  const TrainConfig& config() const { return config_; }
  const std::vector<EpochRecord>& history() const { return history_; }

 private:
  void step_minibatches(const StepCallback& on_step, double& loss_sum, std::size_t& correct);
  void step_full_batch(const StepCallback& on_step, double& loss_sum, std::size_t& correct);
  double accumulate_gradient(const Batch& batch, float scale, std::size_t& correct);

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
};

}  // namespace bpnet
