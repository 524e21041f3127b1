// The record of a run as JSON text (the --history file and the run folder's
// history.json and config.json):
//   {"config": {..., "preset", "data", "bpnet_version"}, "epochs": [{"epoch", "loss", "accuracy", "val_loss",
//    "val_accuracy", "lr", "seconds"}...], "test": {"loss", "accuracy", "n"}
//    or null, "train_seconds", "best_epoch", "stopped_by", "diagnostics": [{"epoch", "layers": [{"layer",
//    "type", "gradient_norm", "update_ratio", "saturated", "dead"}...], "histograms": [{"layer", "of", "low",
//    "high", "counts"}...]}...] (only when recorded; absent entries are null)}
// val_* are null when no validation split was set.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "bpnet/diagnostics.hpp"
#include "bpnet/evaluate.hpp"
#include "bpnet/train.hpp"

namespace bpnet {

// How a run ended, beside its epochs.
struct RunOutcome {
  double train_seconds = 0;
  std::optional<Evaluation> test;
  std::size_t best_epoch = 0;           // whose weights the model holds (early stopping); 0 = the last
  std::string stopped_by = "completed";  // "completed" or "early_stopping"
  std::vector<EpochDiagnostics> diagnostics;  // per epoch run by this process, if recorded
};

// Where a run came from, recorded with its config.
struct RunOrigin {
  std::string preset;  // the preset its flags started from
  std::string data;    // the data folder
};

// Both also record bpnet's version.
std::string history_json(const TrainConfig& config, const RunOrigin& origin, const std::vector<EpochRecord>& epochs,
                         const RunOutcome& outcome);
std::string config_json(const TrainConfig& config, const RunOrigin& origin);
std::string evaluation_json(const Evaluation& evaluation);

// Reads the epochs of a --history file; throws DataError naming the file.
std::vector<EpochRecord> read_history_epochs(const std::filesystem::path& path);

}  // namespace bpnet
