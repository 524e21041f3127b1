#include "bpnet/early_stopping.hpp"

#include <fmt/format.h>

#include <cmath>

#include "bpnet/error.hpp"

namespace bpnet {

std::string_view name(Monitor m) { return m == Monitor::val_loss ? "val_loss" : "val_accuracy"; }

Monitor parse_monitor(std::string_view text) {
  if (text == "val_loss") return Monitor::val_loss;
  if (text == "val_accuracy") return Monitor::val_accuracy;
  throw ConfigError(fmt::format("unknown --monitor '{}' (choose one of: val_loss, val_accuracy)", text));
}

void EarlyStoppingOptions::validate(bool has_validation) const {
  if (!(std::isfinite(min_delta) && min_delta >= 0)) {
    throw ConfigError(fmt::format("--min-delta must be >= 0 (got {})", min_delta));
  }
  if (enabled() && !has_validation) {
    throw ConfigError("--early-stopping watches the validation set: give --validation-split too (e.g. 0.1)");
  }
}

bool observe_epoch(const EarlyStoppingOptions& options, EarlyStoppingState& state, std::size_t epoch,
                   double value) {
  const bool improved =
      !state.best || (options.monitor == Monitor::val_loss ? value + options.min_delta < *state.best
                                                           : value - options.min_delta > *state.best);
  if (improved && std::isfinite(value)) {
    state.best = value;
    state.best_epoch = epoch;
    state.wait = 0;
    return true;
  }
  if (++state.wait >= options.patience) state.stopped = true;
  return false;
}

}  // namespace bpnet
