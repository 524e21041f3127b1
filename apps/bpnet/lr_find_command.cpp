// bpnet lr-find: the learning-rate range test on a training recipe (any
// preset and training flags), its suggestion printed and its chart drawn.
#include <fmt/format.h>

#include "bpnet/atomic_file.hpp"
#include "bpnet/error.hpp"
#include "bpnet/lr_find.hpp"
#include "bpnet/plots.hpp"
#include "cli_checks.hpp"
#include "commands.hpp"
#include "interrupt.hpp"
#include "train_flags.hpp"

namespace bpnet::cli {
namespace {

struct LrFindFlags {
  TrainFlags train;
  LrFindOptions options;
  std::string out = "lr-find.png";
};

// Training flags that write or continue a run mean nothing to a probe.
void refuse_run_flags(const TrainFlags& f) {
  const std::pair<bool, const char*> run_flags[] = {
      {f.save.has_value(), "--save"},       {f.history.has_value(), "--history"},
      {f.run_dir.has_value(), "--run-dir"}, {f.resume.has_value(), "--resume"},
      {f.checkpoint_every.has_value(), "--checkpoint-every"}, {f.early_stopping.has_value(), "--early-stopping"}};
  for (const auto& [given, flag] : run_flags) {
    if (given) throw ConfigError(fmt::format("{} does not apply to lr-find: it is a probe and keeps nothing", flag));
  }
}

int run_lr_find(LrFindFlags flags) {
  refuse_run_flags(flags.train);
  // --lr-min is the start of the range here (the schedule it sets in train is replaced by the ramp).
  if (flags.train.lr_min) flags.options.lr_min = *std::exchange(flags.train.lr_min, std::nullopt);
  flags.options.validate();
  check_extension(flags.out, ".png", "--out");
  const TrainConfig config = config_from(flags.train);
  prepare_output_file(flags.out);
  Dataset train = load_dataset(flags.train.data.value_or(default_data_dir()), Split::train, kAnyLabel);
  if (config.train_images > 0) keep_first(train, config.train_images);
  split_off_tail(train, config.validation_split);  // the images training would learn from

  fmt::print("bpnet lr-find: {} | {} | batch {} | rate from {:g} to {:g} over at most {} steps\n",
             config.model.describe(), name(config.optimizer.kind), config.batch, flags.options.lr_min,
             flags.options.lr_max, flags.options.steps);
  // Ctrl-C ends the probe early; what it measured is still reported and drawn.
  set_interrupt_phase(InterruptPhase::finishing);
  const std::atomic<bool>& interrupted = install_interrupt_handlers();
  std::size_t shown = 0;
  const auto on_point = [&](const LrFindPoint& p, std::size_t steps) {
    if (++shown % 50 == 0) fmt::print("  step {:>4}/{}  lr {:<10.3g} smoothed loss {:.4f}\n", shown, steps, p.lr, p.smoothed);
    std::fflush(stdout);
  };
  const LrFindResult result = lr_find(config, train, flags.options, on_point, &interrupted);
  if (result.points.size() < 10) throw DivergenceError("the loss diverged within the first 10 steps; lower --lr-min");
  const LrFindPoint& last = result.points.back();
  fmt::print("{} after {} steps, at lr {:.3g}{}\n", result.diverged ? "stopped" : "finished", result.points.size(),
             last.lr,
             result.diverged ? fmt::format(": the smoothed loss passed {:g}x its minimum", flags.options.divergence)
                             : ": the loss never diverged; raise --lr-max to see where it does");
  fmt::print("lowest smoothed loss at lr {:.3g} (a tenth of it: {:.3g}); steepest descent at lr {:.3g}\n",
             result.minimum_lr, result.minimum_lr / 10, result.steepest_lr);
  fmt::print("suggested: --lr {:.2g}\n", result.suggested_lr);
  plot_lr_find(result, fmt::format("lr-find: {} ({}, batch {})", config.model.describe(), name(config.optimizer.kind),
                                   config.batch),
               flags.out);
  fmt::print("chart: {}\n", flags.out);
  return 0;
}

}  // namespace

Command add_lr_find_command(CLI::App& app) {
  auto flags = std::make_shared<LrFindFlags>();
  CLI::App* cmd = app.add_subcommand(
      "lr-find", "Learning-rate range test: raise the rate step by step until the loss diverges; suggest one");
  add_train_flags(*cmd, flags->train);
  cmd->add_option("--lr-max", flags->options.lr_max, "Last rate of the range")->capture_default_str();
  cmd->add_option("--steps", flags->options.steps, "Steps over the range (gd: epochs)")
      ->capture_default_str()
      ->check(not_negative());
  cmd->add_option("--out", flags->out, "Chart to write (.png)")->capture_default_str();
  cmd->footer("--lr-min (default 1e-07) is the first rate of the range here. Training flags choose the recipe "
              "(preset, layers, optimizer, batch...); its schedule is replaced by the ramp.");
  return [flags] { return run_lr_find(*flags); };
}

}  // namespace bpnet::cli
