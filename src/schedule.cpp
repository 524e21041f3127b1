#include "bpnet/schedule.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>

#include "bpnet/error.hpp"

namespace bpnet {
namespace {

constexpr std::array kKinds{ScheduleKind::constant, ScheduleKind::step, ScheduleKind::exponential,
                            ScheduleKind::cosine, ScheduleKind::plateau};

// ReduceLROnPlateau's default: an improvement must beat the best by 0.01%.
constexpr double kPlateauThreshold = 1e-4;

}  // namespace

std::string_view name(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::constant: return "constant";
    case ScheduleKind::step: return "step";
    case ScheduleKind::exponential: return "exponential";
    case ScheduleKind::cosine: return "cosine";
    case ScheduleKind::plateau: return "plateau";
  }
  return "?";
}

ScheduleKind parse_schedule(std::string_view text) {
  for (ScheduleKind kind : kKinds) {
    if (name(kind) == text) return kind;
  }
  throw ConfigError(fmt::format(
      "unknown --lr-schedule '{}' (choose one of: constant, step, exponential, cosine, plateau)", text));
}

void ScheduleOptions::validate(std::size_t epochs, double lr) const {
  if (warmup_epochs >= epochs) {
    throw ConfigError(fmt::format("--warmup-epochs must be less than --epochs ({} >= {})", warmup_epochs, epochs));
  }
  if (step_epochs == 0) throw ConfigError("--lr-step-epochs must be at least 1");
  if (!(gamma > 0 && gamma <= 1)) throw ConfigError(fmt::format("--lr-gamma must be in (0, 1] (got {})", gamma));
  if (!(lr_min >= 0 && lr_min <= lr)) {
    throw ConfigError(fmt::format("--lr-min must be in [0, --lr = {}] (got {})", lr, lr_min));
  }
}

LrSchedule::LrSchedule(const ScheduleOptions& options, double base_lr, std::size_t epochs,
                       std::size_t steps_per_epoch)
    : options_(options), base_lr_(base_lr), epochs_(epochs), steps_per_epoch_(std::max<std::size_t>(steps_per_epoch, 1)) {}

double LrSchedule::lr(std::size_t epoch, std::size_t step) const {
  const std::size_t warmup = options_.warmup_epochs;
  if (epoch < warmup) {
    const double done = static_cast<double>(epoch * steps_per_epoch_ + step + 1);
    return base_lr_ * done / static_cast<double>(warmup * steps_per_epoch_);
  }
  const auto e = static_cast<double>(epoch - warmup);
  switch (options_.kind) {
    case ScheduleKind::constant: return base_lr_;
    case ScheduleKind::step:
      return base_lr_ * std::pow(options_.gamma, std::floor(e / static_cast<double>(options_.step_epochs)));
    case ScheduleKind::exponential: return base_lr_ * std::pow(options_.gamma, e);
    case ScheduleKind::cosine: {
      const auto span = static_cast<double>(epochs_ - warmup);
      return options_.lr_min + (base_lr_ - options_.lr_min) * (1 + std::cos(std::numbers::pi * e / span)) / 2;
    }
    case ScheduleKind::plateau: return std::max(base_lr_ * state_.plateau_scale, options_.lr_min);
  }
  return base_lr_;
}

void LrSchedule::end_epoch(double monitored_loss) {
  if (options_.kind != ScheduleKind::plateau) return;
  if (monitored_loss < state_.best * (1 - kPlateauThreshold)) {
    state_.best = monitored_loss;
    state_.bad_epochs = 0;
    return;
  }
  if (++state_.bad_epochs > options_.plateau_patience) {
    state_.plateau_scale *= options_.gamma;
    state_.bad_epochs = 0;
  }
}

}  // namespace bpnet
