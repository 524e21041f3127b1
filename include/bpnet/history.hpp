// The record of a run as JSON (the --history file):
//   {"config": {...}, "epochs": [{"epoch", "loss", "accuracy", "val_loss",
//    "val_accuracy", "seconds"}...], "test": {"loss", "accuracy"} or null,
//    "train_seconds"}
// val_* are null when no validation split was set.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "bpnet/evaluate.hpp"
#include "bpnet/train.hpp"

namespace bpnet {

nlohmann::json config_to_json(const TrainConfig& config);
nlohmann::json history_to_json(const TrainConfig& config, const std::vector<EpochRecord>& epochs,
                               double train_seconds, const std::optional<Evaluation>& test);
nlohmann::json evaluation_to_json(const Evaluation& evaluation);

// The inverse of config_to_json; throws ConfigError (or a json exception) on
// a value out of range.
TrainConfig config_from_json(const nlohmann::json& j);
// The "epochs" array of a history, back into records.
std::vector<EpochRecord> epochs_from_json(const nlohmann::json& rows);

// Reads the epochs of a --history file; throws DataError naming the file.
std::vector<EpochRecord> read_history_epochs(const std::filesystem::path& path);

}  // namespace bpnet
