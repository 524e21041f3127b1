// A Keras-like progress bar for one epoch on a terminal:
//   234/469 [=========>.........] 1.2s ETA 1.1s  loss 0.3421  accuracy 0.9012
// Redrawn at most 10 times a second so it never slows training; when stdout
// is not a terminal (CI, pipes) or progress is turned off it draws nothing.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace bpnet::cli {

class ProgressBar {
 public:
  explicit ProgressBar(bool enabled);
  // Call at the start of each epoch.
  void start();
  // After each step: steps done of total, running loss and accuracy.
  void update(std::size_t done, std::size_t total, double loss, double accuracy);
  // Erases the bar so the epoch's summary line can take its place.
  void clear();
  bool enabled() const { return enabled_; }

 private:
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point epoch_start_, last_draw_;
};

// True when stdout is an interactive terminal.
bool stdout_is_terminal();

}  // namespace bpnet::cli
