// bpnet train: a preset, overridden by any flag given beside it.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include "bpnet/atomic_file.hpp"
#include "bpnet/checkpoint.hpp"
#include "bpnet/error.hpp"
#include "bpnet/evaluate.hpp"
#include "bpnet/history.hpp"
#include "bpnet/model_file.hpp"
#include "bpnet/presets.hpp"
#include "bpnet/train.hpp"
#include "bpnet/predictor.hpp"
#include "cli_checks.hpp"
#include "commands.hpp"
#include "interrupt.hpp"
#include "progress.hpp"
#include "report.hpp"
#include "run_folder.hpp"

namespace bpnet::cli {
namespace {

// Every flag is optional: unset means "as the preset says".
struct TrainFlags {
  std::string preset = "torch-seed";
  std::optional<std::string> data;
  std::optional<std::string> layers, activation, output, loss, optimizer, normalize, init, arch;
  std::optional<double> dropout;
  std::optional<bool> batchnorm;
  std::optional<double> lr, momentum, beta1, beta2, eps, weight_decay, validation_split;
  std::optional<bool> nesterov;
  std::optional<std::size_t> batch, epochs;
  std::optional<std::string> lr_schedule, monitor;
  std::optional<std::size_t> warmup_epochs, lr_step_epochs, plateau_patience, early_stopping;
  std::optional<double> lr_gamma, lr_min, min_delta;
  std::optional<std::string> init_from;
  std::optional<std::uint64_t> seed;
  std::optional<int> threads, workers;
  std::optional<std::string> save, history, run_dir, resume;
  std::optional<std::size_t> checkpoint_every;
  bool quiet_progress = false;
  bool overwrite = false;
  // Whether any flag that shapes the run was given: a resumed run keeps the
  // recipe it started with.
  bool sets_the_recipe = false;
};

template <typename T>
void override_if_set(const std::optional<T>& flag, T& target) {
  if (flag) target = *flag;
}

// The layer list: from --arch, or the preset's shorthand with the
// --layers/--activation/--output/--dropout/--batchnorm flags applied.
ModelSpec model_from(const TrainFlags& f, const ModelSpec& preset_model) {
  const LossKind loss = f.loss ? parse_loss(*f.loss) : preset_model.loss;
  const Normalize normalize = f.normalize ? parse_normalize(*f.normalize) : preset_model.normalize;
  if (f.arch) {
    if (f.layers || f.activation || f.output || f.dropout || f.batchnorm.value_or(false)) {
      throw ConfigError("--arch gives the whole layer list: leave out --layers, --activation, --output, "
                        "--dropout and --batchnorm");
    }
    ModelSpec spec;
    spec.layers = read_layer_list(*f.arch);
    spec.loss = loss;
    spec.normalize = normalize;
    return spec;  // the input size comes from the data
  }
  LayerShorthand shorthand = preset_shorthand(f.preset);
  if (f.layers) shorthand.sizes = parse_layer_sizes(*f.layers);
  if (f.activation) shorthand.activation = parse_activation(*f.activation);
  if (f.output) shorthand.output = parse_output(*f.output);
  override_if_set(f.dropout, shorthand.dropout);
  override_if_set(f.batchnorm, shorthand.batchnorm);
  ModelSpec spec = expand(shorthand, loss, normalize);
  spec.validate();
  return spec;
}

TrainConfig config_from(const TrainFlags& f) {
  TrainConfig c = preset(f.preset);
  c.model = model_from(f, c.model);
  if (f.init) c.init = parse_init(*f.init);
  if (f.optimizer) {
    const OptimizerKind kind = parse_optimizer(*f.optimizer);
    // The preset's rate belongs to its optimizer: Adam does not inherit
    // SGD's 0.003. Within a family (sgd <-> gd) the rate carries over.
    const bool adam_before = c.optimizer.kind == OptimizerKind::adam;
    if (adam_before != (kind == OptimizerKind::adam)) c.optimizer.lr = conventional_lr(kind);
    c.optimizer.kind = kind;
  }
  override_if_set(f.lr, c.optimizer.lr);
  override_if_set(f.momentum, c.optimizer.momentum);
  override_if_set(f.nesterov, c.optimizer.nesterov);
  override_if_set(f.beta1, c.optimizer.beta1);
  override_if_set(f.beta2, c.optimizer.beta2);
  override_if_set(f.eps, c.optimizer.eps);
  override_if_set(f.weight_decay, c.optimizer.weight_decay);
  override_if_set(f.batch, c.batch);
  override_if_set(f.epochs, c.epochs);
  override_if_set(f.validation_split, c.validation_split);
  override_if_set(f.seed, c.seed);
  override_if_set(f.threads, c.threads);
  override_if_set(f.workers, c.workers);
  ScheduleOptions& s = c.schedule;
  if (f.lr_schedule) s.kind = parse_schedule(*f.lr_schedule);
  override_if_set(f.warmup_epochs, s.warmup_epochs);
  override_if_set(f.lr_step_epochs, s.step_epochs);
  override_if_set(f.lr_gamma, s.gamma);
  override_if_set(f.lr_min, s.lr_min);
  override_if_set(f.plateau_patience, s.plateau_patience);
  EarlyStoppingOptions& e = c.early_stopping;
  override_if_set(f.early_stopping, e.patience);
  if (f.monitor) e.monitor = parse_monitor(*f.monitor);
  override_if_set(f.min_delta, e.min_delta);
  // Everything but the layer list's fit to the data is checked now, before
  // any data is read; the Trainer checks the rest before the first epoch.
  TrainConfig probe = c;
  if (probe.model.inputs == 0) probe.model.inputs = 1;
  probe.validate();
  return c;
}

// "sgd lr 0.003 | cosine schedule, 2 warm-up epochs | early stopping 5 on val_loss"
// Where a run stands, the same words on stopping and resuming:
// "after epoch 2" or "in epoch 3, after batch 120 of 469".
std::string position(const TrainerState& state, std::size_t steps_per_epoch) {
  if (state.steps_done == 0) return fmt::format("after epoch {}", state.history.size());
  return fmt::format("in epoch {}, after batch {} of {}", state.history.size() + 1, state.steps_done, steps_per_epoch);
}

// More threads than cores make OpenBLAS threads wait on each other.
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

std::string recipe_summary(const TrainConfig& c) {
  std::string text = fmt::format("{} lr {}", name(c.optimizer.kind), c.optimizer.lr);
  if (c.schedule.kind != ScheduleKind::constant) text += fmt::format(" {}", name(c.schedule.kind));
  if (c.schedule.warmup_epochs > 0) text += fmt::format(" after {} warm-up epochs", c.schedule.warmup_epochs);
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
  const RunStart run = plan_run(flags);
  const TrainConfig& config = run.config;
  // Every place a result goes is checked now, so that a typo never throws
  // away a finished run.
  if (flags.save) prepare_output_file(*flags.save);
  if (flags.history) prepare_output_file(*flags.history);
  if (run.state) {
    prepare_output_folder(run.folder);  // resuming: the folder is this run's own
  } else {
    claim_run_folder(run.folder, flags.overwrite);
  }
  warn_about_oversubscription(config);
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
  const Dataset validation = split_off_tail(train, config.validation_split);

  Trainer trainer(config, train, &validation);
  const TrainConfig& used = trainer.config();  // with the input size from the data
  check_labels(test, used.model.classes());
  if (test.features() != used.model.inputs) {
    throw ConfigError(fmt::format("the test images in {} are {}x{} but the training images are {}x{}", run.data,
                                  test.rows, test.cols, train.rows, train.cols));
  }
  if (init_from) trainer.start_from(*init_from, *flags.init_from);
  if (run.state) trainer.restore(*run.state);
  fmt::print("bpnet train: {} | {} | {} | batch {} | {} epochs | {} train / {} validation / {} test images | "
             "run folder {}\n",
             used.model.describe(), name(used.model.loss), recipe_summary(used), used.batch, used.epochs,
             train.count, validation.count, test.count, run.folder.string());
  if (init_from) fmt::print("starting from the parameters of {}\n", *flags.init_from);
  if (run.state) fmt::print("resuming {}\n", position(*run.state, trainer.steps_per_epoch()));
  std::fflush(stdout);

  trainer.set_stop_flag(&install_interrupt_handlers());
  ProgressBar bar(stdout_is_terminal() && !flags.quiet_progress);
  double train_seconds = run.train_seconds;
  const bool show_lr = used.schedule.kind != ScheduleKind::constant || used.schedule.warmup_epochs > 0;
  FitCallbacks callbacks;
  callbacks.on_epoch_start = [&bar] { bar.start(); };
  if (bar.enabled()) {
    callbacks.on_step = [&bar](std::size_t done, std::size_t total, double loss, double accuracy) {
      bar.update(done, total, loss, accuracy);
    };
  }
  callbacks.on_epoch = [&](const EpochRecord& record) {
    bar.clear();
    train_seconds += record.seconds;
    fmt::print("{}\n", epoch_line(record, used.epochs, show_lr));
    if (flags.checkpoint_every && record.epoch % *flags.checkpoint_every == 0) {
      write_checkpoint(run, data_fingerprint, trainer, train_seconds);
    }
    std::fflush(stdout);
  };
  const FitOutcome outcome = fit(trainer, callbacks);
  if (outcome == FitOutcome::interrupted) {
    bar.clear();
    write_checkpoint(run, data_fingerprint, trainer, train_seconds);
    fmt::print("stopped {}; checkpoint written to {}\nresume with: bpnet train --resume {}\n",
               position(trainer.state(), trainer.steps_per_epoch()), (run.folder / kCheckpointFile).string(),
               run.folder.string());
    return kInterruptedExitCode;
  }
  set_interrupt_phase(InterruptPhase::finishing);
  const std::size_t epochs_run = trainer.history().size();
  fmt::print("training time: {:.2f} s ({:.3f} s per epoch)\n", train_seconds,
             train_seconds / static_cast<double>(epochs_run));
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
  cmd->add_option("--preset", flags->preset, "torch-seed (PyTorch tutorial) or keras-seed (Keras tutorial)")
      ->capture_default_str();
  cmd->add_option("--data", flags->data,
                  "Folder with the IDX files (train-*, t10k-*, raw or .gz); default data/mnist");
  cmd->add_option("--layers", flags->layers, "Layer sizes, input to classes, e.g. 784,128,64,10");
  cmd->add_option("--activation", flags->activation, "Hidden activation: sigmoid, tanh, relu, leaky-relu, gelu");
  cmd->add_option("--dropout", flags->dropout, "Dropout(p) after every hidden layer of --layers, p in [0, 1)");
  cmd->add_flag("--batchnorm", flags->batchnorm, "BatchNorm1d after every hidden Linear of --layers");
  cmd->add_option("--arch", flags->arch,
                  "JSON file with any layer list, e.g. [{\"type\":\"Linear\",\"out\":128},{\"type\":\"ReLU\"},...] "
                  "(instead of --layers)");
  cmd->add_option("--init-from", flags->init_from, "Start from this saved model's parameters (same layers)");
  cmd->add_option("--output", flags->output, "Output layer: softmax, log-softmax, linear");
  cmd->add_option("--loss", flags->loss, "Loss: nll (log-probabilities), cross-entropy (logits), mse");
  cmd->add_option("--optimizer", flags->optimizer,
                  "gd (full batch), sgd, adam; switching between adam and sgd/gd without --lr takes that "
                  "family's usual rate (adam 0.001, sgd 0.01)");
  cmd->add_option("--lr", flags->lr, "Learning rate, in (0, 1000]");
  cmd->add_option("--momentum", flags->momentum, "SGD/GD momentum, in [0, 1)");
  cmd->add_flag("--nesterov", flags->nesterov, "Nesterov momentum (SGD/GD)");
  cmd->add_option("--beta1", flags->beta1, "Adam beta1, in [0, 1)");
  cmd->add_option("--beta2", flags->beta2, "Adam beta2, in [0, 1)");
  cmd->add_option("--eps", flags->eps, "Adam epsilon, > 0 (Keras 1e-7, PyTorch 1e-8)");
  cmd->add_option("--weight-decay", flags->weight_decay, "L2 weight decay, >= 0");
  cmd->add_option("--batch", flags->batch, "Mini-batch size, >= 1 (gd: gradient chunk size)")->check(not_negative());
  cmd->add_option("--epochs", flags->epochs, "Passes over the training set, >= 1")->check(not_negative());
  cmd->add_option("--lr-schedule", flags->lr_schedule, "constant, step, exponential, cosine, plateau");
  cmd->add_option("--warmup-epochs", flags->warmup_epochs, "Linear warm-up of the learning rate, in [0, epochs)")->check(not_negative());
  cmd->add_option("--lr-step-epochs", flags->lr_step_epochs, "step: epochs between reductions, >= 1 (default 10)")->check(not_negative());
  cmd->add_option("--lr-gamma", flags->lr_gamma, "step, exponential, plateau: factor, in (0, 1] (default 0.1)");
  cmd->add_option("--lr-min", flags->lr_min, "cosine: final rate; plateau: floor; in [0, lr] (default 0)");
  cmd->add_option("--plateau-patience", flags->plateau_patience,
                  "plateau: epochs without improvement before reducing (default 10)")->check(not_negative());
  cmd->add_option("--early-stopping", flags->early_stopping,
                  "Stop after this many epochs without improvement and keep the best epoch's weights (needs "
                  "--validation-split)")->check(not_negative());
  cmd->add_option("--monitor", flags->monitor, "What early stopping watches: val_loss (default) or val_accuracy");
  cmd->add_option("--min-delta", flags->min_delta, "Smallest change that counts as an improvement, >= 0");
  cmd->add_option("--validation-split", flags->validation_split,
                  "Fraction of the training set held out (its last part), in [0, 1)");
  cmd->add_option("--normalize", flags->normalize, "Pixel scaling: unit (x/255) or torch ((x/255-0.5)/0.5)");
  cmd->add_option("--init", flags->init, "Weight init: torch, xavier, he");
  cmd->add_option("--seed", flags->seed, "Seed for initialisation and shuffling")->check(not_negative());
  cmd->add_option("--threads", flags->threads, "Compute threads, in [0, 1024]; 0 = all cores (more than the cores slows training)");
  cmd->add_option("--workers", flags->workers, "Batch-preparation threads, in [0, 16]; 0 = on the training thread");
  cmd->add_option("--save", flags->save, "Write the trained model to this file");
  cmd->add_option("--history", flags->history, "Write per-epoch metrics as JSON to this file");
  cmd->add_option("--run-dir", flags->run_dir,
                  "Folder for the model, history, pictures and report (default: runs/<time>-<preset>)");
  cmd->add_flag("--quiet-progress", flags->quiet_progress, "No progress bar, only per-epoch lines");
  cmd->add_flag("--overwrite", flags->overwrite,
                "Reuse a --run-dir that holds another run's files, deleting those files first");
  cmd->add_option("--checkpoint-every", flags->checkpoint_every,
                  "Write the run folder's checkpoint.bpck every N epochs (Ctrl-C always writes one)")->check(not_negative());
  cmd->add_option("--resume", flags->resume, "Continue the run in this run folder from its checkpoint");
  return [flags, cmd] {
    for (const CLI::Option* option : cmd->get_options()) {
      const std::string& flag = option->get_name();
      const bool allowed_with_resume = flag == "--data" || flag == "--checkpoint-every" || flag == "--save" ||
                                       flag == "--history" || flag == "--quiet-progress" || flag == "--resume" ||
                                       flag == "--help";
      if (!allowed_with_resume && option->count() > 0) flags->sets_the_recipe = true;
    }
    return run_train(*flags);
  };
}

}  // namespace bpnet::cli
