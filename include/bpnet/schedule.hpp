// Learning-rate schedules, with PyTorch's meanings (epochs count from 0):
//   constant     lr
//   step         lr * gamma^floor(e / step_epochs)               (StepLR)
//   exponential  lr * gamma^e                                     (ExponentialLR)
//   cosine       lr_min + (lr - lr_min) (1 + cos(pi e / T)) / 2, T = epochs
//                after warm-up                                    (CosineAnnealingLR)
//   plateau      lr times gamma each time the monitored loss has not improved
//                (relative threshold 1e-4) for more than plateau_patience
//                epochs, never below lr_min                       (ReduceLROnPlateau)
// An optional linear warm-up comes first: over warmup_epochs the rate rises
// step by step from lr/W to lr (W = warm-up steps), and the schedule then
// starts from its epoch 0. The rate is constant within an epoch otherwise.
#pragma once

#include <cstddef>
#include <limits>
#include <string_view>

namespace bpnet {

enum class ScheduleKind { constant, step, exponential, cosine, plateau };
std::string_view name(ScheduleKind);
ScheduleKind parse_schedule(std::string_view);

struct ScheduleOptions {
  ScheduleKind kind = ScheduleKind::constant;
  std::size_t warmup_epochs = 0;      // linear warm-up first, in [0, epochs)
  std::size_t step_epochs = 10;       // step: epochs between reductions, >= 1
  double gamma = 0.1;                 // step, exponential, plateau: factor, in (0, 1]
  double lr_min = 0;                  // cosine: final rate; plateau: floor; in [0, lr]
  std::size_t plateau_patience = 10;  // plateau: epochs without improvement tolerated

  // Throws ConfigError naming the flag; `epochs` and `lr` are the run's.
  void validate(std::size_t epochs, double lr) const;
};

// ReduceLROnPlateau's memory, for checkpoints.
struct ScheduleState {
  double plateau_scale = 1;  // product of the reductions so far
  double best = std::numeric_limits<double>::infinity();
  std::size_t bad_epochs = 0;
};

class LrSchedule {
 public:
  LrSchedule(const ScheduleOptions& options, double base_lr, std::size_t epochs, std::size_t steps_per_epoch);

  // The rate of step `step` (0-based, within the epoch) of epoch `epoch` (0-based).
  double lr(std::size_t epoch, std::size_t step) const;
  // After each epoch, with the loss the plateau rule watches (val_loss when
  // there is validation, else the training loss). Other kinds ignore it.
  void end_epoch(double monitored_loss);

  const ScheduleState& state() const { return state_; }
  void restore(const ScheduleState& state) { state_ = state; }

 private:
  ScheduleOptions options_;
  double base_lr_;
  std::size_t epochs_, steps_per_epoch_;
  ScheduleState state_;
};

}  // namespace bpnet
