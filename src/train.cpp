#include "bpnet/train.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <numeric>

#include "bpnet/error.hpp"
#include "bpnet/evaluate.hpp"
#include "bpnet/kernels.hpp"

namespace bpnet {
namespace {

constexpr std::size_t kMaxEpochs = 1'000'000;

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

double Trainer::accumulate_gradient(const Batch& batch, float scale, std::size_t& correct) {
  Network<float>& net = *network_;
  const ConstMatrixView<float> out = net.forward(batch.x, net.loss_depth());
  loss_grad_.resize(out.rows, out.cols);
  const double loss_sum = loss_->sum_and_gradient(out, batch.labels, loss_grad_, scale);
  net.backward(batch.x, loss_grad_);
  for (std::size_t r = 0; r < out.rows; ++r) {
    correct += argmax(out.row(r), out.cols) == batch.labels[r];
  }
  return loss_sum;
}

void Trainer::step_minibatches(const StepCallback& on_step, double& loss_sum, std::size_t& correct) {
  const std::size_t steps = loader_.batches_in_epoch();
  std::size_t seen = 0;
  for (std::size_t step = 0; step < steps; ++step) {
    const Batch batch = loader_.next();
    network_->zero_grad();
    const double batch_loss =
        accumulate_gradient(batch, 1.0f / static_cast<float>(batch.x.rows), correct);
    if (!std::isfinite(batch_loss)) {
      throw DivergenceError(fmt::format(
          "training diverged: the loss became {} at epoch {}, batch {}/{}; try a lower --lr "
          "(now {}), a smaller --momentum, or --activation tanh",
          batch_loss, history_.size() + 1, step + 1, steps, config_.optimizer.lr));
    }
    optimizer_->step(network_->parameters(), network_->gradients());
    loss_sum += batch_loss;
    seen += batch.x.rows;
    if (on_step) {
      on_step(step + 1, steps, loss_sum / static_cast<double>(seen),
              static_cast<double>(correct) / static_cast<double>(seen));
    }
  }
}

void Trainer::step_full_batch(const StepCallback& on_step, double& loss_sum, std::size_t& correct) {
  // The exact gradient of the mean loss over the whole training set, gathered
  // in chunks of config.batch images, then a single step.
  const std::size_t chunks = loader_.batches_in_epoch();
  const float scale = 1.0f / static_cast<float>(train_.count);
  network_->zero_grad();
  std::size_t seen = 0;
  for (std::size_t chunk = 0; chunk < chunks; ++chunk) {
    const Batch batch = loader_.next();
    loss_sum += accumulate_gradient(batch, scale, correct);
    seen += batch.x.rows;
    if (on_step) {
      on_step(chunk + 1, chunks, loss_sum / static_cast<double>(seen),
              static_cast<double>(correct) / static_cast<double>(seen));
    }
  }
  if (!std::isfinite(loss_sum)) {
    throw DivergenceError(fmt::format(
        "training diverged: the loss became {} at epoch {}; try a lower --lr (now {})", loss_sum,
        history_.size() + 1, config_.optimizer.lr));
  }
  optimizer_->step(network_->parameters(), network_->gradients());
}

EpochRecord Trainer::run_epoch(const StepCallback& on_step) {
  const auto start = std::chrono::steady_clock::now();
  if (config_.shuffle) rng_.shuffle(order_);
  loader_.start_epoch(order_);
  double loss_sum = 0;
  std::size_t correct = 0;
  if (config_.optimizer.kind == OptimizerKind::gd) {
    step_full_batch(on_step, loss_sum, correct);
  } else {
    step_minibatches(on_step, loss_sum, correct);
  }
  EpochRecord record;
  record.epoch = history_.size() + 1;
  record.loss = loss_sum / static_cast<double>(train_.count);
  record.accuracy = static_cast<double>(correct) / static_cast<double>(train_.count);
  if (validation_) {
    const Evaluation val = evaluate(*network_, *validation_);
    record.val_loss = val.loss;
    record.val_accuracy = val.accuracy;
  }
  record.seconds = seconds_since(start);
  history_.push_back(record);
  return record;
}

}  // namespace bpnet
