// bpnet train: a preset, overridden by any flag given beside it.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "bpnet/atomic_file.hpp"
#include "bpnet/checkpoint.hpp"
#include "bpnet/cpu.hpp"
#include "bpnet/diagnostics.hpp"
#include "bpnet/error.hpp"
#include "bpnet/evaluate.hpp"
#include "bpnet/history.hpp"
#include "bpnet/model_file.hpp"
#include "bpnet/presets.hpp"
#include "bpnet/train.hpp"
#include "bpnet/predictor.hpp"
#include "commands.hpp"
#include "interrupt.hpp"
#include "processes.hpp"
#include "progress.hpp"
#include "report.hpp"
#include "run_folder.hpp"
#include "train_flags.hpp"

namespace bpnet::cli {
namespace {

// Where a run stands, the same words on stopping and resuming:
// "after epoch 2" or "in epoch 3, after batch 120 of 469".
std::string position(const TrainerState& state, std::size_t steps_per_epoch) {
  if (state.steps_done == 0) return fmt::format("after epoch {}", state.history.size());
  return fmt::format("in epoch {}, after batch {} of {}", state.history.size() + 1, state.steps_done, steps_per_epoch);
}

// More threads than cores make the kernel threads wait on each other.
void warn_about_oversubscription(const TrainConfig& c) {
  const auto cores = static_cast<int>(std::thread::hardware_concurrency());
  if (cores <= 0) return;
  if (c.threads > cores) {
    fmt::print(stderr, "bpnet: warning: --threads {} is more than the {} cores here; training will be slower, not faster\n",
               c.threads, cores);
  }
  if (c.workers > cores) {
    fmt::print(stderr, "bpnet: warning: --workers {} is more than the {} cores here; they will only wait\n",
               c.workers, cores);
  }
}

// "sgd lr 0.003 cosine after 2 warm-up epochs | early stopping 5 on val_loss"
std::string recipe_summary(const TrainConfig& c) {
  std::string text = fmt::format("{} lr {}", name(c.optimizer.kind), c.optimizer.lr);
  if (c.schedule.kind != ScheduleKind::constant) text += fmt::format(" {}", name(c.schedule.kind));
  if (c.schedule.warmup_epochs > 0) text += fmt::format(" after {} warm-up epochs", c.schedule.warmup_epochs);
  if (c.label_smoothing > 0) text += fmt::format(" | label smoothing {}", c.label_smoothing);
  if (c.augment.enabled()) text += fmt::format(" | {}", describe(c.augment));
  if (c.early_stopping.enabled()) {
    text += fmt::format(" | early stopping {} on {}", c.early_stopping.patience, name(c.early_stopping.monitor));
  }
  return text;
}

std::string epoch_line(const EpochRecord& e, std::size_t epochs, bool show_lr) {
  std::string line = fmt::format("epoch {:>{}}/{}  loss {:.4f}  accuracy {:.4f}", e.epoch,
                                 fmt::formatted_size("{}", epochs), epochs, e.loss, e.accuracy);
  if (e.val_loss) {
    line += fmt::format("  val_loss {:.4f}  val_accuracy {:.4f}", *e.val_loss, *e.val_accuracy);
  }
  if (show_lr) line += fmt::format("  lr {:.3g}", e.lr);
  return line + fmt::format("  {:.2f}s", e.seconds);
}

constexpr const char* kCheckpointFile = "checkpoint.bpck";

// Where a run stands when the epoch loop starts: fresh, or from a checkpoint.
struct RunStart {
  TrainConfig config;
  std::string data;
  std::string data_fingerprint;  // what a resumed run's data must match
  std::filesystem::path folder;
  std::string preset;
  std::optional<TrainerState> state;
  double train_seconds = 0;
};

RunStart plan_run(const TrainFlags& flags) {
  RunStart start;
  if (!flags.resume) {
    start.config = config_from(flags);
    start.data = flags.data.value_or(default_data_dir());  // made absolute in checkpoints
    start.preset = flags.preset;
    start.folder = flags.run_dir ? std::filesystem::path(*flags.run_dir) : default_run_folder(flags.preset);
    return start;
  }
  if (flags.sets_the_recipe) {
    throw ConfigError("--resume continues a run exactly as it was configured; give only --data, "
                      "--checkpoint-every, --save, --history or --quiet-progress beside it");
  }
  start.folder = *flags.resume;
  Checkpoint checkpoint = load_checkpoint(start.folder / kCheckpointFile);
  start.config = checkpoint.config;
  start.data = flags.data.value_or(checkpoint.data);
  start.data_fingerprint = checkpoint.data_fingerprint;
  start.preset = checkpoint.preset;
  start.train_seconds = checkpoint.train_seconds;
  start.state = std::move(checkpoint.state);
  return start;
}

void write_checkpoint(const RunStart& run, const std::string& data_fingerprint, const Trainer& trainer,
                      double train_seconds) {
  save_checkpoint(run.folder / kCheckpointFile, {.config = trainer.config(),
                                                 .state = trainer.state(),
                                                 .data = std::filesystem::absolute(run.data).lexically_normal().string(),
                                                 .data_fingerprint = data_fingerprint,
                                                 .preset = run.preset,
                                                 .train_seconds = train_seconds});
}

int run_train(const TrainFlags& flags) {
  if (flags.checkpoint_every && *flags.checkpoint_every == 0) {
    throw ConfigError("--checkpoint-every must be at least 1 (epochs)");
  }
  if (!(flags.mpi_timeout > 0 && flags.mpi_timeout <= 86400)) {
    throw ConfigError(fmt::format("--mpi-timeout must be in (0, 86400] seconds (got {})", flags.mpi_timeout));
  }
  // Under mpirun every process runs all of this with the same flags; only
  // process 0 prints and writes files.
  const std::unique_ptr<Communicator> processes = connect_processes(flags.mpi_timeout);
  const bool leader = processes->rank() == 0;
  if (!leader) silence_stdout();
  const RunStart run = plan_run(flags);
  TrainConfig config = run.config;
  fit_to_processes(config, *processes, flags.shards.has_value(), flags.threads.has_value());
  // Every place a result goes is checked now, so that a typo never throws
  // away a finished run.
  if (leader) {
    if (flags.save) prepare_output_file(*flags.save);
    if (flags.history) prepare_output_file(*flags.history);
    if (run.state) {
      prepare_output_folder(run.folder);  // resuming: the folder is this run's own
    } else {
      claim_run_folder(run.folder, flags.overwrite);
    }
    warn_about_oversubscription(config);
  }
  std::unique_ptr<Model<float>> init_from;
  if (flags.init_from) init_from = load_model(*flags.init_from);
  // Labels are checked against the model once it is built, with a message
  // that blames the model rather than the data.
  Dataset train = load_dataset(run.data, Split::train, kAnyLabel);
  Dataset test = load_dataset(run.data, Split::test, kAnyLabel);
  const std::string data_fingerprint = fingerprint(train) + "; " + fingerprint(test);
  if (run.state && data_fingerprint != run.data_fingerprint) {
    throw ConfigError(fmt::format("--resume {}: the data in {} ({}) is not the data this run started with ({}); "
                                  "pass --data with the original folder",
                                  run.folder.string(), run.data, data_fingerprint, run.data_fingerprint));
  }
  check_same_data(*processes, data_fingerprint);
  if (config.train_images > 0) keep_first(train, config.train_images);
  const Dataset validation = split_off_tail(train, config.validation_split);

  Trainer trainer(config, train, &validation, processes.get());
  const TrainConfig& used = trainer.config();  // with the input size from the data
  check_labels(test, used.model.classes());
  if (test.features() != used.model.inputs) {
    throw ConfigError(fmt::format("the test images in {} are {}x{} but the training images are {}x{}", run.data,
                                  test.rows, test.cols, train.rows, train.cols));
  }
  if (init_from) trainer.start_from(*init_from, *flags.init_from);
  if (run.state) trainer.restore(*run.state);
  fmt::print("bpnet train: {} | {} | {} | batch {} | {} epochs | {} train / {} validation / {} test images | "
             "{} kernels | run folder {}\n",
             used.model.describe(), name(used.model.loss), recipe_summary(used), used.batch, used.epochs,
             train.count, validation.count, test.count, kernel_instruction_set(), run.folder.string());
  if (init_from) fmt::print("starting from the parameters of {}\n", *flags.init_from);
  if (run.state) fmt::print("resuming {}\n", position(*run.state, trainer.steps_per_epoch()));
  if (processes->size() > 1) {
    fmt::print("{} processes (MPI), {} shards of each batch, {} threads each\n", processes->size(), used.shards,
               used.threads);
  }
  std::fflush(stdout);

  trainer.set_stop_flag(&install_interrupt_handlers());
  ProgressBar bar(leader && stdout_is_terminal() && !flags.quiet_progress);
  double train_seconds = run.train_seconds;
  const bool show_lr = used.schedule.kind != ScheduleKind::constant || used.schedule.warmup_epochs > 0;
  // Diagnostics see every optimizer step (full-batch gd: its one step per
  // epoch, which end_epoch measures) and report after every epoch.
  std::optional<DiagnosticsRecorder> recorder;
  if (flags.diagnostics && leader) recorder.emplace(trainer.model(), train);
  const bool steps_per_batch = used.optimizer.kind != OptimizerKind::gd;
  std::vector<EpochDiagnostics> diagnostics;
  std::set<std::string> warned;
  double diagnostics_seconds = 0;  // their own cost, reported at the end
  const auto timed = [&diagnostics_seconds](auto&& work) {
    const auto start = std::chrono::steady_clock::now();
    work();
    diagnostics_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const auto histogram_epoch = [&](std::size_t epoch) {
    if (flags.histogram_epochs.empty()) return epoch == 1 || epoch == used.epochs;
    return std::find(flags.histogram_epochs.begin(), flags.histogram_epochs.end(), epoch) != flags.histogram_epochs.end();
  };
  FitCallbacks callbacks;
  callbacks.on_epoch_start = [&bar] { bar.start(); };
  if (bar.enabled() || recorder) {
    callbacks.on_step = [&](std::size_t done, std::size_t total, double loss, double accuracy) {
      if (recorder && steps_per_batch) timed([&] { recorder->after_step(trainer.model()); });
      if (bar.enabled()) bar.update(done, total, loss, accuracy);
    };
  }
  callbacks.on_epoch = [&](const EpochRecord& record) {
    bar.clear();
    train_seconds += record.seconds;
    fmt::print("{}\n", epoch_line(record, used.epochs, show_lr));
    if (recorder) {
      timed([&] {
        diagnostics.push_back(recorder->end_epoch(trainer.model(), record.epoch, histogram_epoch(record.epoch)));
      });
      for (const std::string& warning : diagnose(trainer.history(), diagnostics.back(), warned)) {
        fmt::print("{}\n", warning);
      }
    }
    if (leader && flags.checkpoint_every && record.epoch % *flags.checkpoint_every == 0) {
      write_checkpoint(run, data_fingerprint, trainer, train_seconds);
    }
    std::fflush(stdout);
  };
  const FitOutcome outcome = fit(trainer, callbacks);
  if (outcome == FitOutcome::interrupted) {
    bar.clear();
    if (!leader) return kInterruptedExitCode;
    write_checkpoint(run, data_fingerprint, trainer, train_seconds);
    fmt::print("stopped {}; checkpoint written to {}\nresume with: bpnet train --resume {}\n",
               position(trainer.state(), trainer.steps_per_epoch()), (run.folder / kCheckpointFile).string(),
               run.folder.string());
    return kInterruptedExitCode;
  }
  set_interrupt_phase(InterruptPhase::finishing);
  if (!leader) return 0;  // every process holds the same model: process 0 reports it
  const std::size_t epochs_run = trainer.history().size();
  fmt::print("training time: {:.2f} s ({:.3f} s per epoch)\n", train_seconds,
             train_seconds / static_cast<double>(epochs_run));
  if (recorder) {
    fmt::print("diagnostics: {:.3f} s of it ({:.2f}%; --no-diagnostics turns them off)\n", diagnostics_seconds,
               100 * diagnostics_seconds / train_seconds);
  }
  if (used.early_stopping.enabled()) {
    fmt::print("{}; the model has the weights of epoch {}, the best {}\n",
               outcome == FitOutcome::early_stopped
                   ? fmt::format("early stopping after epoch {}: {} did not improve for {} epochs", epochs_run,
                                 name(used.early_stopping.monitor), used.early_stopping.patience)
                   : fmt::format("all {} epochs run", epochs_run),
               trainer.best_epoch(), name(used.early_stopping.monitor));
  }

  RunOutcome result;
  result.train_seconds = train_seconds;
  result.test = evaluate(trainer.model(), test);
  result.best_epoch = trainer.best_epoch();
  result.stopped_by = outcome == FitOutcome::early_stopped ? "early_stopping" : "completed";
  result.diagnostics = std::move(diagnostics);
  fmt::print("test: {}\n", accuracy_summary(*result.test));
  // The run folder first: if --save or --history then fail, the model and
  // its history are already safe there.
  const std::string title =
      fmt::format("{}: {}, {}, {}, batch {}: test accuracy {:.2f}%", run.preset, used.model.describe(),
                  name(used.model.loss), recipe_summary(used), used.batch, 100 * result.test->accuracy);
  const RunOrigin origin{run.preset, run.data};
  write_run_folder(run.folder, trainer, test, {title, origin, result});
  fmt::print("run folder: {} (model.bpn, report.html, curves.png, samples.png, ...)\n", run.folder.string());
  try {
    if (flags.history) {
      write_file_atomically(*flags.history, history_json(used, origin, trainer.history(), result));
      fmt::print("history written to {}\n", *flags.history);
    }
    if (flags.save) {
      save_model(*flags.save, trainer.model());
      fmt::print("model saved to {}\n", *flags.save);
    }
  } catch (const WriteError& e) {
    throw Error(fmt::format("{}; the trained model and its history are kept in {}", e.what(), run.folder.string()));
  }
  return 0;
}

}  // namespace

Command add_train_command(CLI::App& app) {
  auto flags = std::make_shared<TrainFlags>();
  CLI::App* cmd = app.add_subcommand("train", "Train a network (default: the torch-seed preset)");
  add_train_flags(*cmd, *flags);
  return [flags, cmd] {
    for (const CLI::Option* option : cmd->get_options()) {
      const std::string& flag = option->get_name();
      const bool allowed_with_resume = flag == "--data" || flag == "--checkpoint-every" || flag == "--save" ||
                                       flag == "--history" || flag == "--quiet-progress" || flag == "--resume" ||
                                       flag == "--mpi-timeout" || flag == "--help";
      if (!allowed_with_resume && option->count() > 0) flags->sets_the_recipe = true;
    }
    return run_train(*flags);
  };
}

}  // namespace bpnet::cli
