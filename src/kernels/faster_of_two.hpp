// Internal: the faster of two ways to do the same work, learned from their
// timings as the work runs. Used where the answer is a property of the
// machine that no rule predicts: whether a one-image product is faster
// shared with a second core (gemm.cpp). Both ways must give the same
// results, since which one runs depends on timing.
#pragma once

#include <algorithm>

namespace bpnet {

class FasterOfTwo {
 public:
  // The way to run next, 0 or 1. First a burst of each, then the cheaper
  // one, with a burst of the other now and then, so that a change in the
  // machine (the other core busy, then free again) is noticed: after
  // kFirstRetry runs, then twice as many each time the cheaper way stays
  // the same, up to kLastRetry (a retry of a way much slower costs: sharing
  // one image on a Xeon took 13-18 us against 3.5-4.5 alone). Only the last
  // kTimedPerBurst runs of a burst are timed: the first find that way cold
  // (a helper thread asleep, its caches holding other data).
  int next() {
    if (burst_left_ == 0) plan();
    --burst_left_;
    return way_;
  }

  // What the run that next() asked for cost when run as `way` (the caller
  // may have had to run the other one), per unit of work (any unit, the
  // same for both). The best of a way's first timings, then a moving
  // average, each timing at most 4x the estimate: a run the system
  // interrupted moves it little.
  void record(int way, double cost) {
    if (untimed_left_ > 0) {
      --untimed_left_;
      return;
    }
    double& estimate = cost_[way];
    if (timed_[way] == 0) {
      estimate = cost;
    } else if (timed_[way] < kTimedPerBurst) {
      estimate = std::min(estimate, cost);
    } else {
      estimate += (std::min(cost, 4 * estimate) - estimate) / 8;
    }
    ++timed_[way];
  }

  double cost(int way) const { return cost_[way]; }

 private:
  static constexpr unsigned kBurst = 8, kTimedPerBurst = 4, kFirstRetry = 32, kLastRetry = 1024;

  void plan() {
    if (timed_[0] < kTimedPerBurst) return burst(0);
    if (timed_[1] < kTimedPerBurst) return burst(1);
    const int best = cost_[1] < cost_[0] ? 1 : 0;
    if (best != best_) {
      best_ = best;
      retry_every_ = kFirstRetry;
      since_retry_ = 0;
    }
    if (since_retry_ >= retry_every_) {
      since_retry_ = 0;
      retry_every_ = std::min(2 * retry_every_, kLastRetry);
      return burst(1 - best);
    }
    ++since_retry_;
    way_ = best;
    burst_left_ = 1;
  }

  void burst(int way) {
    way_ = way;
    burst_left_ = kBurst;
    untimed_left_ = kBurst - kTimedPerBurst;
  }

  double cost_[2] = {0, 0};
  unsigned timed_[2] = {0, 0};
  int way_ = 0, best_ = 0;
  unsigned burst_left_ = 0, untimed_left_ = 0;
  unsigned retry_every_ = kFirstRetry, since_retry_ = 0;
};

}  // namespace bpnet
