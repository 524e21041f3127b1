#include "bpnet/train.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <thread>

#include "bpnet/error.hpp"
#include "batch_loader.hpp"
#include "bpnet/evaluate.hpp"
#include "kernels/gemm.hpp"
#include "sharded_gradient.hpp"

namespace bpnet {
namespace {

constexpr std::size_t kMaxEpochs = 1'000'000;
constexpr std::size_t kMaxShards = 256;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

void TrainConfig::validate() const {
  model.validate();
  optimizer.validate();
  if (batch == 0) throw ConfigError("--batch must be at least 1");
  if (epochs == 0 || epochs > kMaxEpochs) {
    throw ConfigError(fmt::format("--epochs must be in [1, {}] (got {})", kMaxEpochs, epochs));
  }
  if (!(validation_split >= 0 && validation_split < 1)) {
    throw ConfigError(fmt::format("--validation-split must be in [0, 1) (got {})", validation_split));
  }
  if (threads < 0 || threads > 1024) {
    throw ConfigError(fmt::format("--threads must be in [0, 1024] (got {})", threads));
  }
  if (shards == 0 || shards > kMaxShards) {
    throw ConfigError(fmt::format("--shards must be in [1, {}] (got {})", kMaxShards, shards));
  }
  if (shards > batch) {
    throw ConfigError(fmt::format("--shards ({}) cannot be more than the images in a batch (--batch {})", shards, batch));
  }
  if (workers < 0 || workers > 16) {
    throw ConfigError(fmt::format("--workers must be in [0, 16] (got {})", workers));
  }
  schedule.validate(epochs, optimizer.lr);
  early_stopping.validate(validation_split > 0);
  augment.validate();
  make_loss<float>(model.loss, static_cast<float>(label_smoothing));  // throws if the smoothing does not fit
}

namespace {

bool has_batch_norm(const ModelSpec& spec) {
  return std::any_of(spec.layers.begin(), spec.layers.end(),
                     [](const LayerSpec& l) { return l.type == "BatchNorm1d"; });
}

int resolve_threads(int threads) {
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return threads > 0 ? threads : std::max(cores, 1);
}

}  // namespace

// BatchNorm1d normalises each shard by its own statistics: every shard of
// every batch (the last one too) needs two images.
void Trainer::check_batch_norm_shards() const {
  const std::size_t last = train_.count % config_.batch;
  for (const std::size_t rows : {std::min(config_.batch, train_.count), last}) {
    if (rows == 0 || rows / config_.shards >= 2) continue;
    throw ConfigError(fmt::format(
        "BatchNorm1d needs at least 2 images in every shard of every batch, but {} training images in batches "
        "of {} split into {} shards leave a shard of {}: choose another --batch or --shards",
        train_.count, config_.batch, config_.shards, rows / config_.shards));
  }
}

Trainer::Trainer(const TrainConfig& config, const Dataset& train, const Dataset* validation, Communicator* comm)
    : config_(config), train_(train), validation_(validation), rng_(config.seed) {
  if (comm == nullptr) own_comm_ = std::make_unique<LocalCommunicator>();
  comm_ = comm ? comm : own_comm_.get();
  if (train.count == 0) throw ConfigError("the training set is empty");
  ModelSpec& spec = config_.model;
  if (spec.inputs == 0) spec.inputs = train.features();
  if (train.features() != spec.inputs) {
    throw ConfigError(fmt::format("the model takes {} inputs but the images in {} have {}x{} = {} pixels",
                                  spec.inputs, train.name, train.rows, train.cols, train.features()));
  }
  spec.image_rows = train.rows;
  spec.image_cols = train.cols;
  config_.validate();
  check_labels(train, spec.classes());
  if (validation_ && validation_->count == 0) validation_ = nullptr;
  if (validation_) check_labels(*validation_, spec.classes());
  if (has_batch_norm(spec)) check_batch_norm_shards();
  loader_ = std::make_unique<BatchLoader>(train, spec.normalize, config_.batch, config_.workers, config_.augment,
                                          config_.seed);
  model_ = std::make_unique<Model<float>>(spec);
  model_->initialize(config_.init, rng_);
  sharded_ = std::make_unique<ShardedGradient>(*model_, config_.shards, resolve_threads(config_.threads), *comm_);
  loss_ = make_loss<float>(spec.loss, static_cast<float>(config_.label_smoothing));
  optimizer_ = make_optimizer(config_.optimizer);
  schedule_ = std::make_unique<LrSchedule>(config_.schedule, config_.optimizer.lr, config_.epochs,
                                           steps_per_epoch());
  order_.resize(train.count);
  std::iota(order_.begin(), order_.end(), 0u);
}

Trainer::~Trainer() = default;

std::size_t Trainer::steps_per_epoch() const { return (train_.count + config_.batch - 1) / config_.batch; }

void Trainer::start_from(const Model<float>& source, const std::string& name) {
  const ModelSpec& ours = model_->spec();
  const ModelSpec& theirs = source.spec();
  if (theirs.inputs != ours.inputs || theirs.layers != ours.layers) {
    throw ConfigError(fmt::format("--init-from {}: its architecture ({}) is not the one being trained ({})", name,
                                  theirs.describe(), ours.describe()));
  }
  std::copy(source.parameters().begin(), source.parameters().end(), model_->parameters().begin());
  std::copy(source.buffers().begin(), source.buffers().end(), model_->buffers().begin());
}

bool Trainer::stop_requested() { return comm_->any(stop_ && stop_->load()); }

double Trainer::accumulate_gradient(ConstMatrixView<float> x, std::span<const std::uint8_t> labels, float scale,
                                    GradientWrite write) {
  // Dropout masks are drawn for the global index of this batch in the run.
  const TrainingStep step{config_.seed, history_.size() * steps_per_epoch() + steps_done_};
  const ShardedTotals totals = sharded_->accumulate(*model_, *loss_, x, labels, scale, step, write);
  correct_ += totals.correct;
  seen_ += x.rows;
  return totals.loss_sum;
}

void Trainer::check_finite(double batch_loss, bool parameters_finite) const {
  if (std::isfinite(batch_loss) && parameters_finite) return;
  throw DivergenceError(fmt::format(
      "training diverged: the {} became {} at epoch {}, batch {}/{}; try a lower --lr (now {}), "
      "a smaller --momentum, or --activation tanh",
      std::isfinite(batch_loss) ? "parameters" : "loss", std::isfinite(batch_loss) ? "non-finite" : fmt::format("{}", batch_loss),
      history_.size() + 1, steps_done_ + 1, steps_per_epoch(), config_.optimizer.lr));
}

bool Trainer::step_optimizer() {
  // gd steps once per epoch, after its last chunk: it takes that step's rate.
  const bool full_batch = config_.optimizer.kind == OptimizerKind::gd;
  const std::size_t step = full_batch ? steps_per_epoch() - 1 : steps_done_;
  const double lr = lr_override_ ? lr_override_(optimizer_->steps_taken()) : schedule_->lr(history_.size(), step);
  return optimizer_->step(model_->parameters(), model_->gradients(), lr);
}

void Trainer::begin_epoch() {
  epoch_rng_ = rng_.state();
  in_epoch_ = true;
  steps_done_ = 0;
  loss_sum_ = 0;
  correct_ = seen_ = 0;
  seconds_ = 0;
  model_->zero_grad();
}

std::optional<EpochRecord> Trainer::run_epoch(const StepCallback& on_step) {
  if (finished()) throw ConfigError("the run is already finished");
  const auto start = std::chrono::steady_clock::now();
  sharded_->use_own_thread_count();  // for zeroing, the batches' conversion and the update too
  if (!in_epoch_) begin_epoch();
  // The order is a function of the Rng state alone, so a resumed epoch
  // replays exactly the shuffle it was interrupted in.
  Rng epoch_rng(0);
  epoch_rng.set_state(epoch_rng_);
  std::iota(order_.begin(), order_.end(), 0u);
  if (config_.shuffle) epoch_rng.shuffle(order_);
  loader_->start_epoch(order_, steps_done_, history_.size());

  // gd: the exact gradient of the mean loss over the whole training set,
  // gathered in chunks of config.batch images, then a single step.
  const bool full_batch = config_.optimizer.kind == OptimizerKind::gd;
  const std::size_t steps = steps_per_epoch();
  while (steps_done_ < steps) {
    const Batch batch = loader_->next();
    // A step's gradient is written over the last one's; gd sums its chunks
    // (zeroed when the epoch begins).
    const float scale = 1.0f / static_cast<float>(full_batch ? train_.count : batch.x.rows);
    const double batch_loss = accumulate_gradient(batch.x, batch.labels, scale,
                                                  full_batch ? GradientWrite::add : GradientWrite::overwrite);
    if (!full_batch) {
      check_finite(batch_loss, step_optimizer());
    } else if (!std::isfinite(batch_loss)) {
      check_finite(batch_loss, true);  // the parameters have not moved yet
    }
    loss_sum_ += batch_loss;
    ++steps_done_;
    if (on_step) {
      on_step(steps_done_, steps, loss_sum_ / static_cast<double>(seen_),
              static_cast<double>(correct_) / static_cast<double>(seen_));
    }
    if (steps_done_ < steps && stop_requested()) {
      seconds_ += seconds_since(start);
      return std::nullopt;
    }
  }
  if (full_batch) {
    check_finite(loss_sum_, step_optimizer());
  }
  rng_ = epoch_rng;
  in_epoch_ = false;

  EpochRecord record;
  record.epoch = history_.size() + 1;
  record.loss = loss_sum_ / static_cast<double>(seen_);
  record.accuracy = static_cast<double>(correct_) / static_cast<double>(seen_);
  record.lr = schedule_->lr(history_.size(), steps - 1);
  if (validation_) {
    // The criterion training minimises (label smoothing included, as Keras reports val_loss).
    const Evaluation val = evaluate(*model_, *validation_, 1000, config_.label_smoothing);
    record.val_loss = val.loss;
    record.val_accuracy = val.accuracy;
  }
  end_epoch(record);
  record.seconds = seconds_ + seconds_since(start);
  history_.push_back(record);
  if (finished() && config_.early_stopping.enabled() && !best_parameters_.empty()) {
    // Restore the best epoch's weights, as Keras' restore_best_weights.
    std::copy(best_parameters_.begin(), best_parameters_.end(), model_->parameters().begin());
    std::copy(best_buffers_.begin(), best_buffers_.end(), model_->buffers().begin());
  }
  return record;
}

void Trainer::end_epoch(EpochRecord& record) {
  schedule_->end_epoch(record.val_loss.value_or(record.loss));
  const EarlyStoppingOptions& early = config_.early_stopping;
  if (!early.enabled() || !validation_) return;
  const double value = early.monitor == Monitor::val_loss ? *record.val_loss : *record.val_accuracy;
  if (observe_epoch(early, early_, record.epoch, value)) {
    best_parameters_.assign(model_->parameters().begin(), model_->parameters().end());
    best_buffers_.assign(model_->buffers().begin(), model_->buffers().end());
  }
}

namespace {

std::vector<float> copy_of(std::span<const float> values) { return {values.begin(), values.end()}; }

void copy_into(const std::vector<float>& from, std::span<float> to) { std::copy(from.begin(), from.end(), to.begin()); }

}  // namespace

TrainerState Trainer::state() const {
  TrainerState s;
  s.history = history_;
  s.epoch_rng = in_epoch_ ? epoch_rng_ : rng_.state();
  s.steps_done = in_epoch_ ? steps_done_ : 0;
  s.loss_sum = in_epoch_ ? loss_sum_ : 0;
  s.correct = in_epoch_ ? correct_ : 0;
  s.seen = in_epoch_ ? seen_ : 0;
  s.seconds = in_epoch_ ? seconds_ : 0;
  s.parameters = copy_of(model_->parameters());
  s.gradients = copy_of(model_->gradients());
  s.buffers = copy_of(model_->buffers());
  s.optimizer_state = copy_of(optimizer_->state());
  s.optimizer_steps = optimizer_->steps_taken();
  s.schedule = schedule_->state();
  s.early_stopping = early_;
  s.best_parameters = best_parameters_;
  s.best_buffers = best_buffers_;
  return s;
}

void Trainer::restore(const TrainerState& s) {
  const std::size_t params = model_->parameters().size();
  const std::size_t buffers = model_->buffers().size();
  const bool has_best = !s.best_parameters.empty();
  if (s.parameters.size() != params || s.gradients.size() != params || s.buffers.size() != buffers ||
      (has_best && (s.best_parameters.size() != params || s.best_buffers.size() != buffers))) {
    throw ConfigError(fmt::format("the saved state has {} parameters and {} buffers but the model has {} and {}",
                                  s.parameters.size(), s.buffers.size(), params, buffers));
  }
  if (s.history.size() > config_.epochs || s.steps_done > steps_per_epoch()) {
    throw ConfigError("the saved state is further along than the run it belongs to");
  }
  copy_into(s.parameters, model_->parameters());
  copy_into(s.gradients, model_->gradients());
  copy_into(s.buffers, model_->buffers());
  optimizer_->restore(s.optimizer_state, s.optimizer_steps);
  schedule_->restore(s.schedule);
  early_ = s.early_stopping;
  best_parameters_ = s.best_parameters;
  best_buffers_ = s.best_buffers;
  history_ = s.history;
  rng_.set_state(s.epoch_rng);
  epoch_rng_ = s.epoch_rng;
  in_epoch_ = s.steps_done > 0;
  steps_done_ = s.steps_done;
  loss_sum_ = s.loss_sum;
  correct_ = s.correct;
  seen_ = s.seen;
  seconds_ = s.seconds;
}

std::string_view name(FitOutcome outcome) {
  switch (outcome) {
    case FitOutcome::completed: return "completed";
    case FitOutcome::early_stopped: return "early_stopping";
    case FitOutcome::interrupted: return "interrupted";
  }
  return "?";
}

FitOutcome fit(Trainer& trainer, const FitCallbacks& callbacks) {
  while (!trainer.finished()) {
    if (trainer.stop_requested()) return FitOutcome::interrupted;
    if (callbacks.on_epoch_start) callbacks.on_epoch_start();
    const std::optional<EpochRecord> record = trainer.run_epoch(callbacks.on_step);
    if (!record) return FitOutcome::interrupted;
    if (callbacks.on_epoch) callbacks.on_epoch(*record);
  }
  return trainer.stopped_early() ? FitOutcome::early_stopped : FitOutcome::completed;
}

}  // namespace bpnet
