#include "sharded_gradient.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "bpnet/error.hpp"
#include "kernels/gemm.hpp"
#include "kernels/kernel_threads.hpp"
#include "parallel/thread_team.hpp"

namespace bpnet {

struct ShardedGradient::Shard {
  Workspace<float> workspace;
  Matrix<float> loss_grad;  // (rows of the shard, C)
};

ShardedGradient::ShardedGradient(const Model<float>& model, std::size_t shards, int threads, Communicator& comm)
    : shards_(shards), parameters_(model.parameters().size()), threads_(std::max(threads, 1)), comm_(comm) {
  const auto processes = static_cast<std::size_t>(comm.size());
  if (shards == 0 || shards % processes != 0) {
    throw ConfigError(fmt::format("--shards ({}) must be a multiple of the number of processes ({})", shards, processes));
  }
  owned_ = shards / processes;
  first_owned_ = static_cast<std::size_t>(comm.rank()) * owned_;
  for (std::size_t s = 0; s < owned_; ++s) local_.push_back(std::make_unique<Shard>());
  if (shards_ > 1 || comm.size() > 1) gradients_.assign(shards_ * parameters_, 0.0f);
  totals_.assign(shards_ * 2, 0.0);
}

ShardedGradient::~ShardedGradient() = default;

void ShardedGradient::use_own_thread_count() const {
  // Only when it changes (trainers may take turns): a new count starts a new
  // team of kernel threads.
  if (kernel_threads() != threads_) set_kernel_threads(threads_);
}

void ShardedGradient::compute_shard(std::size_t s, const Model<float>& model, const Loss<float>& loss,
                                    ConstMatrixView<float> x, std::span<const std::uint8_t> labels, float scale,
                                    const TrainingStep& step, std::span<float> gradient, GradientWrite write) {
  Shard& shard = *local_[s - first_owned_];
  const std::size_t begin = shard_begin(s, x.rows, shards_), end = shard_begin(s + 1, x.rows, shards_);
  double* totals = totals_.data() + 2 * s;
  totals[0] = totals[1] = 0;
  if (begin == end) {
    // An empty shard (fewer rows than shards) still owns its whole buffer.
    if (write == GradientWrite::overwrite) std::fill(gradient.begin(), gradient.end(), 0.0f);
    return;
  }
  const ConstMatrixView<float> rows{x.row(begin), end - begin, x.cols};
  const std::span<const std::uint8_t> shard_labels = labels.subspan(begin, end - begin);
  const ConstMatrixView<float> out =
      model.forward_train(shard.workspace, rows, model.loss_depth(), {step.seed, step.step, begin});
  shard.loss_grad.resize(out.rows, out.cols);
  totals[0] = loss.sum_and_gradient(out, shard_labels, shard.loss_grad, scale);
  model.backward(shard.workspace, rows, shard.loss_grad, gradient, write);
  std::size_t correct = 0;
  for (std::size_t r = 0; r < out.rows; ++r) correct += argmax(out.row(r), out.cols) == shard_labels[r];
  totals[1] = static_cast<double>(correct);
}

void ShardedGradient::compute_owned_shards(const Model<float>& model, const Loss<float>& loss,
                                           ConstMatrixView<float> x, std::span<const std::uint8_t> labels,
                                           float scale, const TrainingStep& step) {
  auto compute = [&](std::size_t s) {
    const std::span<float> gradient(gradients_.data() + s * parameters_, parameters_);
    compute_shard(s, model, loss, x, labels, scale, step, gradient, GradientWrite::overwrite);
  };
  auto one_after_another = [&] {
    for (std::size_t s = first_owned_; s < first_owned_ + owned_; ++s) compute(s);
  };
  // Fewer shards than threads: one at a time, each product cut over the team.
  if (owned_ < static_cast<std::size_t>(threads_)) {
    one_after_another();
    return;
  }
  // Else the kernel threads take shards in turn (s = member, member + size,
  // ...), each shard's products computed alone on its thread.
  with_kernel_team([&](ThreadTeam* team) {
    if (team == nullptr) {
      one_after_another();
      return;
    }
    const auto members = static_cast<std::size_t>(team->size());
    team->run([&](int member) {
      for (std::size_t s = first_owned_ + static_cast<std::size_t>(member); s < first_owned_ + owned_; s += members) {
        compute(s);
      }
    });
  });
}

void ShardedGradient::reduce_into(std::span<float> gradient, GradientWrite write) {
  // Each kernel thread sums the part of the parameters it updates next
  // (for_each_parameter_piece), over the shards in order, a block at a time
  // so the running sum stays in L1.
  constexpr std::size_t kBlock = 1024;
  for_each_parameter_piece(parameters_, [&](std::size_t first, std::size_t last) {
    float sum[kBlock];
    for (std::size_t b = first; b < last; b += kBlock) {
      const std::size_t n = std::min(kBlock, last - b);
      std::copy_n(gradients_.data() + b, n, sum);
      for (std::size_t s = 1; s < shards_; ++s) {
        const float* g = gradients_.data() + s * parameters_ + b;
        for (std::size_t i = 0; i < n; ++i) sum[i] += g[i];
      }
      float* out = gradient.data() + b;
      if (write == GradientWrite::overwrite) {
        std::copy_n(sum, n, out);
      } else {
        for (std::size_t i = 0; i < n; ++i) out[i] += sum[i];
      }
    }
  });
}

ShardedTotals ShardedGradient::accumulate(Model<float>& model, const Loss<float>& loss, ConstMatrixView<float> x,
                                          std::span<const std::uint8_t> labels, float scale,
                                          const TrainingStep& step, GradientWrite write) {
  use_own_thread_count();
  if (shards_ == 1 && comm_.size() == 1) {
    // One shard in one process: straight into the model's gradient. Two
    // passes over the parameters fewer (zeroing a shard buffer, summing it
    // in), which cost a fifth of a torch-seed step.
    compute_shard(0, model, loss, x, labels, scale, step, model.gradients(), write);
  } else {
    compute_owned_shards(model, loss, x, labels, scale, step);
  }
  // Shard 0 keeps the running statistics; its process hands them to the others.
  if (first_owned_ == 0) model.update_buffers(local_[0]->workspace);
  if (comm_.size() > 1) {
    if (!model.buffers().empty()) comm_.broadcast(model.buffers(), 0);
    const std::span<float> all(gradients_);
    comm_.all_gather(all.subspan(first_owned_ * parameters_, owned_ * parameters_), all);
    const std::span<double> all_totals(totals_);
    comm_.all_gather(all_totals.subspan(2 * first_owned_, 2 * owned_), all_totals);
  }
  if (shards_ > 1 || comm_.size() > 1) reduce_into(model.gradients(), write);
  ShardedTotals totals;
  for (std::size_t s = 0; s < shards_; ++s) {
    totals.loss_sum += totals_[2 * s];
    totals.correct += static_cast<std::size_t>(totals_[2 * s + 1]);
  }
  return totals;
}

}  // namespace bpnet
