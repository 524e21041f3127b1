// The run folder of `bpnet train`: everything one run produced, in one place.
//   model.bpn  history.json  history.csv  config.json
//   curves.png curves.svg  samples.png  confusion.png  mistakes.png  report.html
#pragma once

#include <filesystem>
#include <string>

#include "bpnet/dataset.hpp"
#include "bpnet/evaluate.hpp"
#include "bpnet/history.hpp"
#include "bpnet/train.hpp"

namespace bpnet::cli {

// "runs/20261127-183012-torch-seed": a fresh name under runs/.
std::filesystem::path default_run_folder(const std::string& preset_name);

struct RunSummary {
  std::string title;   // one line naming the network and recipe
  RunOrigin origin;    // preset and data folder
  RunOutcome outcome;  // with the test evaluation set
};

// Makes `folder` this run's before training starts: creates it, proves it
// writable, and refuses it if it holds files of another run (a model, a
// history, a checkpoint...) unless `overwrite`, in which case it deletes
// just those files. Throws ConfigError (refused) or WriteError.
void claim_run_folder(const std::filesystem::path& folder, bool overwrite);

// Writes every file of the run folder (creating the folder).
void write_run_folder(const std::filesystem::path& folder, Trainer& trainer, const Dataset& test,
                      const RunSummary& summary);

}  // namespace bpnet::cli
