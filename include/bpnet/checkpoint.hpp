// Checkpoints: a run's config and TrainerState in one file, so `bpnet train
// --resume` ends with exactly the model an uninterrupted run would have made.
// Layout (little-endian), like model files (docs/model-format.md):
//   "BPNETCKP" | u32 version | u32 H | H bytes JSON (config, history, progress,
//   notes) | u64 P | P float32 parameters | P float32 gradients |
//   u64 S | S float32 optimizer state | u32 CRC-32 of all before
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

#include "bpnet/train.hpp"

namespace bpnet {

inline constexpr std::uint32_t kCheckpointFormatVersion = 1;

struct Checkpoint {
  TrainConfig config;
  TrainerState state;
  nlohmann::json notes;  // free-form facts the caller wants back (data folder, timings)
};

// Written atomically; throws WriteError.
void save_checkpoint(const std::filesystem::path& path, const Checkpoint& checkpoint);
// Throws ModelFileError naming the file and what is wrong.
Checkpoint load_checkpoint(const std::filesystem::path& path);

}  // namespace bpnet
