// Checkpoints: a run's config and TrainerState in one file, so `bpnet train
// --resume` ends with exactly the model an uninterrupted run would have made.
// Layout (little-endian), framed like model files (docs/model-format.md):
//   "BPNETCKP" | u32 version | u32 H | H bytes JSON (config, history,
//   progress, schedule and early-stopping state, notes) | six float32 arrays,
//   each u64 N then N values: parameters, gradients, buffers, optimizer
//   state, best parameters, best buffers | u32 CRC-32 of all before
#pragma once

#include <filesystem>
#include <string>

#include "bpnet/train.hpp"

namespace bpnet {

inline constexpr std::uint32_t kCheckpointFormatVersion = 2;

struct Checkpoint {
  TrainConfig config = {};
  TrainerState state = {};
  // Facts the command wants back on resume.
  std::string data = {};              // the data folder, absolute
  std::string data_fingerprint = {};  // of the training and test sets (dataset.hpp)
  std::string preset = {};            // the preset the run started from
  double train_seconds = 0;           // training time before the checkpoint
};

// Written atomically; throws WriteError.
void save_checkpoint(const std::filesystem::path& path, const Checkpoint& checkpoint);
// Throws ModelFileError naming the file and what is wrong.
Checkpoint load_checkpoint(const std::filesystem::path& path);

}  // namespace bpnet
