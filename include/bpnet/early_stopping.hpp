// Early stopping with best weights, as Keras' EarlyStopping(monitor,
// min_delta, patience, restore_best_weights=True): an epoch improves when
// val_loss falls below the best by more than min_delta (val_accuracy: rises
// above it by more than min_delta); training stops once `patience` epochs in
// a row have not improved. The trainer then restores the best epoch's
// parameters and buffers, and does so too when the epochs run out first.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace bpnet {

enum class Monitor { val_loss, val_accuracy };
std::string_view name(Monitor);
Monitor parse_monitor(std::string_view);

struct EarlyStoppingOptions {
  std::size_t patience = 0;  // epochs without improvement before stopping; 0 = off
  Monitor monitor = Monitor::val_loss;
  double min_delta = 0;  // smallest change that counts as an improvement, >= 0

  bool enabled() const { return patience > 0; }
  // Throws ConfigError naming the flag.
  void validate(bool has_validation) const;
};

// What early stopping remembers between epochs (kept in checkpoints).
struct EarlyStoppingState {
  std::optional<double> best;  // best monitored value so far
  std::size_t best_epoch = 0;  // 1-based epoch that reached it; 0 = none yet
  std::size_t wait = 0;        // epochs since then without improvement
  bool stopped = false;        // patience ran out
};

// Updates `state` with the monitored value of (1-based) `epoch`; returns
// whether this epoch is the new best.
bool observe_epoch(const EarlyStoppingOptions& options, EarlyStoppingState& state, std::size_t epoch,
                   double value);

}  // namespace bpnet
