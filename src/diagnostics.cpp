#include "bpnet/diagnostics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "bpnet/preprocess.hpp"

namespace bpnet {
namespace {

double norm(std::span<const float> values) {
  double sum = 0;
  for (float v : values) sum += static_cast<double>(v) * v;
  return std::sqrt(sum);
}

// Each layer's slice of the flat parameter array.
std::vector<std::pair<std::size_t, std::size_t>> parameter_slices(const Model<float>& model) {
  std::vector<std::pair<std::size_t, std::size_t>> slices;
  std::size_t offset = 0;
  for (std::size_t i = 0; i < model.depth(); ++i) {
    slices.emplace_back(offset, model.layer(i).parameter_count());
    offset += model.layer(i).parameter_count();
  }
  return slices;
}

bool saturates(std::string_view type) { return type == "Sigmoid" || type == "Tanh"; }
bool can_die(std::string_view type) { return type == "ReLU" || type == "LeakyReLU"; }

}  // namespace

double saturated_fraction(std::string_view type, ConstMatrixView<float> outputs) {
  const std::size_t n = outputs.rows * outputs.cols;
  if (n == 0) return 0;
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const float y = outputs.data[i];
    count += type == "Sigmoid" ? (y < 0.01f || y > 0.99f) : std::abs(y) > 0.98f;
  }
  return static_cast<double>(count) / static_cast<double>(n);
}

double dead_fraction(ConstMatrixView<float> outputs) {
  if (outputs.cols == 0) return 0;
  std::size_t dead = 0;
  for (std::size_t c = 0; c < outputs.cols; ++c) {
    bool active = false;
    for (std::size_t r = 0; r < outputs.rows && !active; ++r) active = outputs(r, c) > 0;
    dead += !active;
  }
  return static_cast<double>(dead) / static_cast<double>(outputs.cols);
}

Histogram histogram(std::span<const float> values, std::size_t bins) {
  Histogram h;
  double low = INFINITY, high = -INFINITY;
  for (float v : values) {
    if (std::isfinite(v)) low = std::min(low, double{v}), high = std::max(high, double{v});
  }
  if (!std::isfinite(low)) return h;
  if (high == low) high = low + 1e-6;
  h.low = low;
  h.high = high;
  h.counts.assign(bins, 0);
  for (float v : values) {
    if (!std::isfinite(v)) continue;
    const auto bin = static_cast<std::size_t>((v - low) / (high - low) * static_cast<double>(bins));
    ++h.counts[std::min(bin, bins - 1)];
  }
  return h;
}

DiagnosticsRecorder::DiagnosticsRecorder(const Model<float>& model, const Dataset& data, std::size_t probe_size,
                                         std::size_t sample_every)
    : sample_every_(std::max<std::size_t>(1, sample_every)),
      epoch_start_(model.parameters().begin(), model.parameters().end()),
      gradient_sum_(model.depth(), 0.0),
      ratio_sum_(model.depth(), 0.0) {
  const std::size_t n = std::min(probe_size, data.count);
  std::vector<std::uint32_t> first(n);
  std::iota(first.begin(), first.end(), 0u);
  std::vector<std::uint8_t> labels(n);
  probe_.resize(n, data.features());
  gather_batch(data, first, pixel_scale(model.spec().normalize), probe_, labels);
}

void DiagnosticsRecorder::measure_update(const Model<float>& model, std::span<const float> before) {
  const auto slices = parameter_slices(model);
  for (std::size_t i = 0; i < slices.size(); ++i) {
    const auto [offset, count] = slices[i];
    if (count == 0) continue;
    const auto now = model.parameters().subspan(offset, count);
    const auto old = before.subspan(offset, count);
    double change = 0;
    for (std::size_t k = 0; k < count; ++k) change += (double{now[k]} - old[k]) * (double{now[k]} - old[k]);
    const double size = norm(old);
    ratio_sum_[i] += size > 0 ? std::sqrt(change) / size : 0;
    gradient_sum_[i] += norm(model.gradients().subspan(offset, count));
  }
  ++samples_;
}

void DiagnosticsRecorder::after_step(const Model<float>& model) {
  // Sampled: a copy of the parameters before one step in `sample_every_`,
  // so the cost stays a small fraction of the step's own.
  if (!before_step_.empty()) {
    measure_update(model, before_step_);
    before_step_.clear();
  }
  if (++steps_ % sample_every_ == 0) before_step_.assign(model.parameters().begin(), model.parameters().end());
}

EpochDiagnostics DiagnosticsRecorder::end_epoch(const Model<float>& model, std::size_t epoch, bool with_histograms) {
  // Full-batch gd steps once per epoch, after the last call to after_step
  // could see it: the epoch is its one sample.
  if (samples_ == 0) measure_update(model, epoch_start_);
  epoch_start_.assign(model.parameters().begin(), model.parameters().end());

  Workspace<float> workspace;
  model.forward(workspace, probe_);
  EpochDiagnostics result;
  result.epoch = epoch;
  const auto slices = parameter_slices(model);
  for (std::size_t i = 0; i < model.depth(); ++i) {
    const std::string type(model.layer(i).type());
    LayerDiagnostics d{i + 1, type, {}, {}, {}, {}};
    if (slices[i].second > 0) {
      d.gradient_norm = gradient_sum_[i] / static_cast<double>(samples_);
      d.update_ratio = ratio_sum_[i] / static_cast<double>(samples_);
    }
    const Matrix<float>& out = workspace.outputs[i];
    if (saturates(type)) d.saturated = saturated_fraction(type, out);
    if (can_die(type)) d.dead = dead_fraction(out);
    result.layers.push_back(d);
    if (with_histograms && type == "Linear") {
      Histogram h = histogram(model.parameters().subspan(slices[i].first, slices[i].second), 40);
      h.layer = i + 1;
      h.of = "weights";
      result.histograms.push_back(std::move(h));
    }
    if (with_histograms && (saturates(type) || can_die(type))) {
      Histogram h = histogram(std::span<const float>(out.data(), out.rows() * out.cols()), 40);
      h.layer = i + 1;
      h.of = "outputs";
      result.histograms.push_back(std::move(h));
    }
  }
  std::fill(gradient_sum_.begin(), gradient_sum_.end(), 0.0);
  std::fill(ratio_sum_.begin(), ratio_sum_.end(), 0.0);
  samples_ = 0;
  return result;
}

std::vector<std::string> diagnose(const std::vector<EpochRecord>& history, const EpochDiagnostics& latest,
                                  std::set<std::string>& warned) {
  std::vector<std::string> warnings;
  const auto once = [&](const std::string& key, std::string text) {
    if (warned.insert(key).second) warnings.push_back(std::move(text));
  };
  for (const LayerDiagnostics& d : latest.layers) {
    if (d.saturated && *d.saturated > 0.5) {
      once(fmt::format("saturated {}", d.layer),
           fmt::format("warning: layer {} ({}): {:.0f}% of its outputs are saturated (within 1% of an asymptote): "
                       "there its derivative is nearly 0, so the error signal hardly passes back and the weights "
                       "feeding it stop learning (\"paralysis\"). Try a smaller initialisation (--init xavier), a "
                       "lower --lr, inputs scaled to small values (--normalize torch), or --activation relu.",
                       d.layer, d.type, 100 * *d.saturated));
    }
    if (d.dead && *d.dead > 0.5) {
      once(fmt::format("dead {}", d.layer),
           fmt::format("warning: layer {} ({}): {:.0f}% of its units output 0 for every probe image (\"dead\"): "
                       "they pass no gradient and will not recover. Usually a learning rate too large knocked "
                       "their biases negative; try a lower --lr, --activation leaky-relu, or --batchnorm.",
                       d.layer, d.type, 100 * *d.dead));
    }
  }
  const std::size_t n = history.size();
  if (n >= 4) {
    int rises = 0;
    for (std::size_t i = n - 3; i < n; ++i) rises += history[i].loss > history[i - 1].loss;
    if (rises >= 2) {
      once("oscillating",
           fmt::format("warning: the training loss rose in {} of the last 3 epochs ({:.4g} -> {:.4g}): steps this "
                       "large overshoot the minimum and the loss oscillates. Try a lower --lr (now {:.3g}), a "
                       "schedule (--lr-schedule cosine), or `bpnet lr-find` with the same flags.",
                       rises, history[n - 4].loss, history[n - 1].loss, history[n - 1].lr));
    }
  }
  return warnings;
}

}  // namespace bpnet
