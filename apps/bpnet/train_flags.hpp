// The flags of `bpnet train`: what each means, and the TrainConfig they make
// from a preset.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bpnet/train.hpp"

namespace bpnet::cli {

// --augment and the bounds of each distortion; unset: as the preset says.
struct AugmentFlags {
  std::optional<std::string> kind;
  std::optional<double> rotate, scale, shear, translate, elastic_sigma, elastic_alpha;
  // `base` with every given flag applied (not yet validated).
  AugmentOptions applied_to(AugmentOptions base) const;
};

// Every flag is optional: unset means "as the preset says".
struct TrainFlags {
  std::string preset = "torch-seed";
  std::optional<std::string> data;
  std::optional<std::string> layers, activation, output, loss, optimizer, normalize, init, arch;
  std::optional<double> dropout;
  std::optional<bool> batchnorm;
  std::optional<double> lr, momentum, beta1, beta2, eps, weight_decay, validation_split;
  std::optional<bool> nesterov;
  std::optional<std::size_t> batch, epochs, train_images;
  std::optional<std::string> lr_schedule, monitor;
  std::optional<std::size_t> warmup_epochs, lr_step_epochs, plateau_patience, early_stopping;
  std::optional<double> lr_gamma, lr_min, min_delta;
  AugmentFlags augment;
  std::optional<double> label_smoothing;
  std::optional<std::string> init_from;
  std::optional<std::uint64_t> seed;
  std::optional<int> threads, workers;
  std::optional<std::size_t> shards;
  std::optional<std::string> save, history, run_dir, resume;
  std::optional<std::size_t> checkpoint_every;
  double mpi_timeout = 300;  // seconds a process waits for the others under mpirun
  bool quiet_progress = false;
  bool diagnostics = true;                   // per-layer diagnostics and warnings
  std::vector<std::size_t> histogram_epochs;  // empty: the first and the last
  bool overwrite = false;
  // Whether any flag that shapes the run was given: a resumed run keeps the
  // recipe it started with.
  bool sets_the_recipe = false;
};

// Registers every flag of `bpnet train` on `cmd`, writing into `flags`.
void add_train_flags(CLI::App& cmd, TrainFlags& flags);

// Registers --augment and its bounds (bpnet train, bpnet augment).
void add_augment_flags(CLI::App& cmd, AugmentFlags& flags);

// The preset named by --preset with every given flag applied. Checks all but
// the layer list's fit to the data (known once the data is read); throws
// ConfigError naming the flag.
TrainConfig config_from(const TrainFlags& flags);

}  // namespace bpnet::cli
