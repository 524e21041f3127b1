#include "bpnet/lr_find.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "bpnet/error.hpp"

namespace bpnet {

void LrFindOptions::validate() const {
  if (!(lr_min > 0) || !(lr_max > lr_min) || !(lr_max <= 1000)) {
    throw ConfigError(fmt::format("--lr-min and --lr-max must satisfy 0 < lr-min < lr-max <= 1000 (got {} and {})",
                                  lr_min, lr_max));
  }
  if (steps < 10 || steps > 100000) throw ConfigError(fmt::format("--steps must be in [10, 100000] (got {})", steps));
  if (!(smoothing >= 0 && smoothing < 1)) throw ConfigError("the smoothing factor must be in [0, 1)");
  if (!(divergence > 1)) throw ConfigError("the divergence factor must be above 1");
}

double range_test_lr(const LrFindOptions& options, std::size_t n) {
  const double t = static_cast<double>(n) / static_cast<double>(options.steps - 1);
  return options.lr_min * std::pow(options.lr_max / options.lr_min, t);
}

// The curve the suggestions are read from: a centred moving average, which
// (unlike the running average that decides when to stop) lags by nothing:
// with 300 steps over 8 decades, an average over the last ~50 steps would
// put the minimum a whole decade too far right.
LrFindResult analyse_range_test(std::vector<LrFindPoint> points, bool diverged) {
  LrFindResult result;
  result.diverged = diverged;
  const std::size_t n = points.size(), half = std::max<std::size_t>(2, n / 50);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t from = i >= half ? i - half : 0, to = std::min(n, i + half + 1);
    double sum = 0;
    for (std::size_t j = from; j < to; ++j) sum += points[j].loss;
    points[i].smoothed = sum / static_cast<double>(to - from);
  }
  result.points = std::move(points);
  const auto& pts = result.points;
  if (pts.empty()) return result;
  const auto lowest = std::min_element(pts.begin(), pts.end(),
                                       [](const LrFindPoint& a, const LrFindPoint& b) { return a.smoothed < b.smoothed; });
  result.minimum_lr = lowest->lr;
  // The steepest fall per decade of rate, before the minimum, from slopes
  // across a window as wide as the averaging.
  const std::size_t end = static_cast<std::size_t>(lowest - pts.begin());
  double best_slope = 0;
  result.steepest_lr = result.minimum_lr / 10;
  for (std::size_t i = half; i + half <= end; ++i) {
    const LrFindPoint &a = pts[i - half], &b = pts[i + half];
    const double slope = (b.smoothed - a.smoothed) / std::log10(b.lr / a.lr);
    if (slope < best_slope) {
      best_slope = slope;
      result.steepest_lr = pts[i].lr;
    }
  }
  // The steepest point: learning is fastest there, and it lies well below
  // the minimum, where the loss is about to turn (fastai's "steep" pick).
  // Measured on keras-seed (README): a tenth of the minimum, 5.1e-4, trained
  // to 97.76% in 30 epochs, below the preset's 1e-3.
  result.suggested_lr = result.steepest_lr;
  return result;
}

LrFindResult lr_find(const TrainConfig& base, const Dataset& train, const LrFindOptions& options,
                     const std::function<void(const LrFindPoint&, std::size_t)>& on_point,
                     const std::atomic<bool>* stop) {
  options.validate();
  TrainConfig config = base;
  config.schedule = {};
  config.early_stopping = {};
  config.validation_split = 0;
  config.optimizer.lr = options.lr_max;  // only validated; every step's rate comes from the ramp
  const bool full_batch = config.optimizer.kind == OptimizerKind::gd;
  const std::size_t per_epoch = full_batch ? 1 : (train.count + config.batch - 1) / config.batch;
  config.epochs = options.steps / std::max<std::size_t>(per_epoch, 1) + 1;
  Trainer trainer(config, train);
  trainer.override_lr([&](std::uint64_t n) { return range_test_lr(options, n); });
  std::atomic<bool> done{false};
  trainer.set_stop_flag(&done);

  std::vector<LrFindPoint> points;
  bool diverged = false;
  double average = 0, weight = 1, lowest = INFINITY;
  // Adds the loss of step n; returns false once the test is over.
  const auto record = [&](double loss) {
    const LrFindPoint p{range_test_lr(options, points.size()), loss, 0};
    points.push_back(p);
    average = options.smoothing * average + (1 - options.smoothing) * loss;
    weight *= options.smoothing;
    const double smoothed = average / (1 - weight);
    lowest = std::min(lowest, smoothed);
    if (on_point) on_point({p.lr, p.loss, smoothed}, options.steps);
    if (!std::isfinite(smoothed) || smoothed > options.divergence * lowest) diverged = true;
    return !diverged && points.size() < options.steps && !(stop && stop->load());
  };
  // The batch's loss from the running mean the trainer reports: the sum so
  // far minus the sum before, over the images of this batch.
  double previous_sum = 0;
  const StepCallback on_step = [&](std::size_t done_steps, std::size_t, double running_loss, double) {
    if (full_batch) return;
    const double seen = static_cast<double>(std::min(done_steps * config.batch, train.count));
    const double sum = running_loss * seen;
    const double images = seen - static_cast<double>(std::min((done_steps - 1) * config.batch, train.count));
    const double batch_loss = (sum - previous_sum) / images;
    previous_sum = done_steps * config.batch >= train.count ? 0 : sum;
    if (!record(batch_loss)) done = true;
  };
  try {
    while (!done && !trainer.finished()) {
      const std::optional<EpochRecord> epoch = trainer.run_epoch(on_step);
      if (full_batch && epoch && !record(epoch->loss)) break;
    }
  } catch (const DivergenceError&) {
    diverged = true;  // a non-finite loss or weight: the far end of the range
  }
  return analyse_range_test(std::move(points), diverged);
}

}  // namespace bpnet
