#include "train_flags.hpp"

#include <fmt/format.h>

#include "bpnet/error.hpp"
#include "bpnet/presets.hpp"
#include "cli_checks.hpp"

namespace bpnet::cli {
namespace {

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
  // CLI11 sets an absent flag to false: only a given --batchnorm turns it on.
  if (f.batchnorm.value_or(false)) shorthand.batchnorm = true;
  ModelSpec spec = expand(shorthand, loss, normalize);
  spec.validate();
  return spec;
}


}  // namespace

AugmentOptions AugmentFlags::applied_to(AugmentOptions a) const {
  if (kind) a.kind = parse_augment(*kind);
  override_if_set(rotate, a.rotate);
  override_if_set(scale, a.scale);
  override_if_set(shear, a.shear);
  override_if_set(translate, a.translate);
  override_if_set(elastic_sigma, a.elastic_sigma);
  override_if_set(elastic_alpha, a.elastic_alpha);
  return a;
}

void add_augment_flags(CLI::App& cmd, AugmentFlags& f) {
  cmd.add_option("--augment", f.kind,
                 "Distort every training image afresh each epoch: none, affine, elastic, both (on the --workers)");
  cmd.add_option("--rotate", f.rotate, "affine: largest rotation, degrees, in [0, 180] (default 15)");
  cmd.add_option("--scale", f.scale, "affine: largest change of each axis' size, in [0, 0.5] (default 0.15)");
  cmd.add_option("--shear", f.shear, "affine: largest horizontal shear, degrees, in [0, 60] (default 15)");
  cmd.add_option("--translate", f.translate, "affine: largest shift along each axis, pixels, in [0, 10] (default 0)");
  cmd.add_option("--elastic-sigma", f.elastic_sigma,
                 "elastic: width of the field's Gaussian smoothing, pixels, in [0.5, 20] (default 4, Simard 2003)");
  cmd.add_option("--elastic-alpha", f.elastic_alpha,
                 "elastic: scale of the smoothed field, pixels, in [0, 300] (default 34, Simard 2003)");
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
  override_if_set(f.train_images, c.train_images);
  override_if_set(f.seed, c.seed);
  override_if_set(f.threads, c.threads);
  override_if_set(f.shards, c.shards);
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
  c.augment = f.augment.applied_to(c.augment);
  override_if_set(f.label_smoothing, c.label_smoothing);
  // Everything but the layer list's fit to the data is checked now, before
  // any data is read; the Trainer checks the rest before the first epoch.
  TrainConfig probe = c;
  if (probe.model.inputs == 0) probe.model.inputs = 1;
  probe.validate();
  return c;
}

void add_train_flags(CLI::App& cmd, TrainFlags& flags) {
  cmd.add_option("--preset", flags.preset, "torch-seed (PyTorch tutorial), keras-seed (Keras tutorial), simard-800, simard-800-elastic "
                 "(Simard et al. 2003), best (the most accurate recipe found)")
      ->capture_default_str();
  cmd.add_option("--data", flags.data,
                  "Folder with the IDX files (train-*, t10k-*, raw or .gz); default data/mnist");
  cmd.add_option("--layers", flags.layers, "Layer sizes, input to classes, e.g. 784,128,64,10");
  cmd.add_option("--activation", flags.activation, "Hidden activation: sigmoid, tanh, relu, leaky-relu, gelu");
  cmd.add_option("--dropout", flags.dropout, "Dropout(p) after every hidden layer of --layers, p in [0, 1)");
  cmd.add_flag("--batchnorm", flags.batchnorm, "BatchNorm1d after every hidden Linear of --layers");
  cmd.add_option("--arch", flags.arch,
                  "JSON file with any layer list, e.g. [{\"type\":\"Linear\",\"out\":128},{\"type\":\"ReLU\"},...] "
                  "(instead of --layers)");
  cmd.add_option("--init-from", flags.init_from, "Start from this saved model's parameters (same layers)");
  cmd.add_option("--output", flags.output, "Output layer: softmax, log-softmax, linear");
  cmd.add_option("--loss", flags.loss, "Loss: nll (log-probabilities), cross-entropy (logits), mse");
  cmd.add_option("--optimizer", flags.optimizer,
                  "gd (full batch), sgd, adam; switching between adam and sgd/gd without --lr takes that "
                  "family's usual rate (adam 0.001, sgd 0.01)");
  cmd.add_option("--lr", flags.lr, "Learning rate, in (0, 1000]");
  cmd.add_option("--momentum", flags.momentum, "SGD/GD momentum, in [0, 1)");
  cmd.add_flag("--nesterov", flags.nesterov, "Nesterov momentum (SGD/GD)");
  cmd.add_option("--beta1", flags.beta1, "Adam beta1, in [0, 1)");
  cmd.add_option("--beta2", flags.beta2, "Adam beta2, in [0, 1)");
  cmd.add_option("--eps", flags.eps, "Adam epsilon, > 0 (Keras 1e-7, PyTorch 1e-8)");
  cmd.add_option("--weight-decay", flags.weight_decay, "L2 weight decay, >= 0");
  cmd.add_option("--batch", flags.batch, "Mini-batch size, >= 1 (gd: gradient chunk size)")->check(not_negative());
  cmd.add_option("--epochs", flags.epochs, "Passes over the training set, >= 1")->check(not_negative());
  cmd.add_option("--lr-schedule", flags.lr_schedule, "constant, step, exponential, cosine, plateau");
  cmd.add_option("--warmup-epochs", flags.warmup_epochs, "Linear warm-up of the learning rate, in [0, epochs)")->check(not_negative());
  cmd.add_option("--lr-step-epochs", flags.lr_step_epochs, "step: epochs between reductions, >= 1 (default 10)")->check(not_negative());
  cmd.add_option("--lr-gamma", flags.lr_gamma, "step, exponential, plateau: factor, in (0, 1] (default 0.1)");
  cmd.add_option("--lr-min", flags.lr_min, "cosine: final rate; plateau: floor; in [0, lr] (default 0)");
  cmd.add_option("--plateau-patience", flags.plateau_patience,
                  "plateau: epochs without improvement before reducing (default 10)")->check(not_negative());
  cmd.add_option("--early-stopping", flags.early_stopping,
                  "Stop after this many epochs without improvement and keep the best epoch's weights (needs "
                  "--validation-split)")->check(not_negative());
  cmd.add_option("--monitor", flags.monitor, "What early stopping watches: val_loss (default) or val_accuracy");
  cmd.add_option("--min-delta", flags.min_delta, "Smallest change that counts as an improvement, >= 0");
  add_augment_flags(cmd, flags.augment);
  cmd.add_option("--label-smoothing", flags.label_smoothing,
                 "Targets (1 - e) onehot + e / classes, e in [0, 1) (nll and cross-entropy; PyTorch's label_smoothing)");
  cmd.add_option("--train-images", flags.train_images,
                 "Train on the first N images of the training split only (quick trials; default all)")
      ->check(not_negative());
  cmd.add_option("--validation-split", flags.validation_split,
                  "Fraction of the training set held out (its last part), in [0, 1)");
  cmd.add_option("--normalize", flags.normalize, "Pixel scaling: unit (x/255) or torch ((x/255-0.5)/0.5)");
  cmd.add_option("--init", flags.init, "Weight init: torch, xavier, he");
  cmd.add_option("--seed", flags.seed, "Seed for initialisation and shuffling")->check(not_negative());
  cmd.add_option("--threads", flags.threads, "Compute threads, in [0, 1024]; 0 = all cores (more than the cores slows training)");
  cmd.add_option("--shards", flags.shards,
                  "Split each batch into this many shards, one per thread (or MPI process), their gradients summed "
                  "in a fixed order, in [1, 256] (default 1; under mpirun, the process count): a seed and a shard "
                  "count give the same model for any --threads and process count")->check(not_negative());
  cmd.add_option("--workers", flags.workers, "Batch-preparation threads, in [0, 16]; 0 = on the training thread");
  cmd.add_option("--save", flags.save, "Write the trained model to this file");
  cmd.add_option("--history", flags.history, "Write per-epoch metrics as JSON to this file");
  cmd.add_option("--run-dir", flags.run_dir,
                  "Folder for the model, history, pictures and report (default: runs/<time>-<preset>)");
  cmd.add_flag("--quiet-progress", flags.quiet_progress, "No progress bar, only per-epoch lines");
  cmd.add_flag("--diagnostics,!--no-diagnostics", flags.diagnostics,
               "Per-layer gradient norms, update sizes, saturated and dead units, with warnings (default: on)");
  cmd.add_option("--histogram-epochs", flags.histogram_epochs,
                 "Epochs whose weight and activation histograms go into history.json (default: first and last)")
      ->delimiter(',')
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->check(CLI::PositiveNumber);
  cmd.add_flag("--overwrite", flags.overwrite,
                "Reuse a --run-dir that holds another run's files, deleting those files first");
  cmd.add_option("--checkpoint-every", flags.checkpoint_every,
                  "Write the run folder's checkpoint.bpck every N epochs (Ctrl-C always writes one)")->check(not_negative());
  cmd.add_option("--mpi-timeout", flags.mpi_timeout,
                 "Under mpirun: seconds to wait for the other processes before stopping them all, in (0, 86400]")
      ->capture_default_str();
  cmd.add_option("--resume", flags.resume, "Continue the run in this run folder from its checkpoint");
}

}  // namespace bpnet::cli
