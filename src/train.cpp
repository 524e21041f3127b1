#include "bpnet/train.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <numeric>

#include "bpnet/error.hpp"
#include "bpnet/evaluate.hpp"
#include "bpnet/kernels.hpp"
#include "bpnet/simd.hpp"

namespace bpnet {
namespace {

constexpr std::size_t kMaxEpochs = 1'000'000;

// A float is NaN or infinite exactly when its exponent bits are all ones;
// testing the bits (rather than std::isfinite) lets the loop vectorise.
BPNET_VECTOR_LOOP bool all_finite_bits(const std::uint32_t* bits, std::size_t n) {
  std::uint32_t worst = 0;
  for (std::size_t i = 0; i < n; ++i) worst |= static_cast<std::uint32_t>((bits[i] & 0x7f800000u) == 0x7f800000u);
  return worst == 0;
}

bool all_finite(std::span<const float> values) {
  static_assert(sizeof(float) == sizeof(std::uint32_t));
  return all_finite_bits(reinterpret_cast<const std::uint32_t*>(values.data()), values.size());
}

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
  if (workers < 0 || workers > 16) {
    throw ConfigError(fmt::format("--workers must be in [0, 16] (got {})", workers));
  }
}

Trainer::Trainer(const TrainConfig& config, const Dataset& train, const Dataset* validation)
    : config_(config),
      train_(train),
      validation_(validation),
      rng_(config.seed),
      loader_(train, config.model.normalize, config.batch, config.workers) {
  if (train.count == 0) throw ConfigError("the training set is empty");
  if (train.features() != config_.model.inputs()) {
    throw ConfigError(fmt::format("--layers starts with {} inputs but the images in {} have {}x{} = {} pixels",
                                  config_.model.inputs(), train.name, train.rows, train.cols,
                                  train.features()));
  }
  config_.model.image_rows = train.rows;
  config_.model.image_cols = train.cols;
  config_.validate();
  check_labels(train, config_.model.classes());
  if (validation_ && validation_->count == 0) validation_ = nullptr;
  if (validation_) check_labels(*validation_, config_.model.classes());
  set_kernel_threads(config_.threads);
  network_ = std::make_unique<Network<float>>(config_.model);
  network_->initialize(config_.init, rng_);
  loss_ = make_loss<float>(config_.model.loss);
  optimizer_ = make_optimizer(config_.optimizer);
  order_.resize(train.count);
  std::iota(order_.begin(), order_.end(), 0u);
}

Trainer::~Trainer() = default;

double Trainer::accumulate_gradient(const Batch& batch, float scale) {
  Network<float>& net = *network_;
  const ConstMatrixView<float> out = net.forward(batch.x, net.loss_depth());
  loss_grad_.resize(out.rows, out.cols);
  const double loss_sum = loss_->sum_and_gradient(out, batch.labels, loss_grad_, scale);
  net.backward(batch.x, loss_grad_);
  for (std::size_t r = 0; r < out.rows; ++r) {
    correct_ += argmax(out.row(r), out.cols) == batch.labels[r];
  }
  seen_ += out.rows;
  return loss_sum;
}

void Trainer::check_finite(double batch_loss) const {
  const bool parameters_finite = all_finite(network_->parameters());
  if (std::isfinite(batch_loss) && parameters_finite) return;
  throw DivergenceError(fmt::format(
      "training diverged: the {} became {} at epoch {}, batch {}/{}; try a lower --lr (now {}), "
      "a smaller --momentum, or --activation tanh",
      std::isfinite(batch_loss) ? "parameters" : "loss", std::isfinite(batch_loss) ? "non-finite" : fmt::format("{}", batch_loss),
      history_.size() + 1, steps_done_ + 1, loader_.batches_in_epoch(), config_.optimizer.lr));
}

void Trainer::begin_epoch() {
  epoch_rng_ = rng_.state();
  in_epoch_ = true;
  steps_done_ = 0;
  loss_sum_ = 0;
  correct_ = seen_ = 0;
  seconds_ = 0;
  network_->zero_grad();
}

std::optional<EpochRecord> Trainer::run_epoch(const StepCallback& on_step) {
  const auto start = std::chrono::steady_clock::now();
  if (!in_epoch_) begin_epoch();
  // The order is a function of the Rng state alone, so a resumed epoch
  // replays exactly the shuffle it was interrupted in.
  Rng epoch_rng(0);
  epoch_rng.set_state(epoch_rng_);
  std::iota(order_.begin(), order_.end(), 0u);
  if (config_.shuffle) epoch_rng.shuffle(order_);
  loader_.start_epoch(order_, steps_done_);

  // gd: the exact gradient of the mean loss over the whole training set,
  // gathered in chunks of config.batch images, then a single step.
  const bool full_batch = config_.optimizer.kind == OptimizerKind::gd;
  const std::size_t steps = loader_.batches_in_epoch();
  while (steps_done_ < steps) {
    const Batch batch = loader_.next();
    if (!full_batch) network_->zero_grad();
    const float scale = 1.0f / static_cast<float>(full_batch ? train_.count : batch.x.rows);
    const double batch_loss = accumulate_gradient(batch, scale);
    if (!full_batch) {
      optimizer_->step(network_->parameters(), network_->gradients());
      check_finite(batch_loss);
    } else if (!std::isfinite(batch_loss)) {
      check_finite(batch_loss);
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
    optimizer_->step(network_->parameters(), network_->gradients());
    check_finite(loss_sum_);
  }
  rng_ = epoch_rng;
  in_epoch_ = false;

  EpochRecord record;
  record.epoch = history_.size() + 1;
  record.loss = loss_sum_ / static_cast<double>(seen_);
  record.accuracy = static_cast<double>(correct_) / static_cast<double>(seen_);
  if (validation_) {
    const Evaluation val = evaluate(*network_, *validation_);
    record.val_loss = val.loss;
    record.val_accuracy = val.accuracy;
  }
  record.seconds = seconds_ + seconds_since(start);
  history_.push_back(record);
  return record;
}

TrainerState Trainer::state() const {
  TrainerState s;
  s.history = history_;
  s.epoch_rng = in_epoch_ ? epoch_rng_ : rng_.state();
  s.steps_done = in_epoch_ ? steps_done_ : 0;
  s.loss_sum = in_epoch_ ? loss_sum_ : 0;
  s.correct = in_epoch_ ? correct_ : 0;
  s.seen = in_epoch_ ? seen_ : 0;
  s.seconds = in_epoch_ ? seconds_ : 0;
  const auto params = network_->parameters();
  s.parameters.assign(params.begin(), params.end());
  const auto grads = network_->gradients();
  s.gradients.assign(grads.begin(), grads.end());
  const auto opt = optimizer_->state();
  s.optimizer_state.assign(opt.begin(), opt.end());
  s.optimizer_steps = optimizer_->steps_taken();
  return s;
}

void Trainer::restore(const TrainerState& s) {
  const auto params = network_->parameters();
  if (s.parameters.size() != params.size() || s.gradients.size() != params.size()) {
    throw ConfigError(fmt::format("the saved state has {} parameters but the network has {}",
                                  s.parameters.size(), params.size()));
  }
  const std::size_t steps_per_epoch = (train_.count + config_.batch - 1) / config_.batch;
  if (s.history.size() > config_.epochs || s.steps_done > steps_per_epoch) {
    throw ConfigError("the saved state is further along than the run it belongs to");
  }
  std::copy(s.parameters.begin(), s.parameters.end(), params.begin());
  std::copy(s.gradients.begin(), s.gradients.end(), network_->gradients().begin());
  optimizer_->restore(s.optimizer_state, s.optimizer_steps);
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

}  // namespace bpnet
