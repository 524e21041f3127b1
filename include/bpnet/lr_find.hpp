// The learning-rate range test (Smith 2015, "Cyclical learning rates";
// fastai's lr_find): from the initial weights, train for a few hundred steps
// while the rate rises exponentially from lr_min to lr_max, record the loss of
// each batch, smooth it, and stop once it diverges. The rate where the
// smoothed loss falls fastest, and a tenth of the rate where it is lowest, are
// the usual picks. A probe: the weights it leaves behind are thrown away.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <vector>

#include "bpnet/dataset.hpp"
#include "bpnet/train.hpp"

namespace bpnet {

struct LrFindOptions {
  double lr_min = 1e-7;
  double lr_max = 10;
  std::size_t steps = 300;  // optimizer steps (gd: epochs), >= 10
  // The stop: a running average of the loss (factor `smoothing`, bias-
  // corrected) that exceeds `divergence` times its lowest value so far.
  double smoothing = 0.95;
  double divergence = 4;

  // Throws ConfigError naming the flag.
  void validate() const;
};

struct LrFindPoint {
  double lr = 0;
  double loss = 0;      // the step's batch loss (gd: the epoch's)
  double smoothed = 0;  // its centred moving average (lr_find's progress: the running one)
};

struct LrFindResult {
  std::vector<LrFindPoint> points;
  bool diverged = false;        // stopped by the divergence rule (or a non-finite loss)
  double steepest_lr = 0;       // where the smoothed loss falls fastest per decade
  double minimum_lr = 0;        // where the smoothed loss is lowest
  double suggested_lr = 0;      // the pick: the steepest point
};

// The rate of step n of `steps`: lr_min * (lr_max / lr_min)^(n / (steps - 1)).
double range_test_lr(const LrFindOptions& options, std::size_t n);

// Reads the curve: centred smoothing, the two rates and the pick. Exposed for tests.
LrFindResult analyse_range_test(std::vector<LrFindPoint> points, bool diverged);

// Runs the test with `config` (its learning rate and schedule are replaced,
// early stopping and validation are off). on_point sees each step as it is
// taken (progress); `stop` (may be null) ends the test after the step in hand.
LrFindResult lr_find(const TrainConfig& config, const Dataset& train, const LrFindOptions& options,
                     const std::function<void(const LrFindPoint&, std::size_t)>& on_point = {},
                     const std::atomic<bool>* stop = nullptr);

}  // namespace bpnet
