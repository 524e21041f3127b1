// Training diagnostics: what back-propagation is doing inside each layer,
// measured per epoch, and the warnings a learner needs (the tutorial's BP
// pitfalls: rates that oscillate, sigmoid units "paralysed" in their flat
// regions, ReLU units that never fire).
//
// Per layer with parameters: the gradient norm and the size of each update
// relative to the weights (|dp| / |p|, about 1e-3 is healthy), averaged over
// every `sample_every`-th step. Per Sigmoid/Tanh layer: the fraction of its
// outputs within 1% of the asymptotes on a fixed probe batch; per ReLU or
// LeakyReLU layer: the fraction of units never active on it. Histograms of
// weights and activations at chosen epochs.
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bpnet/dataset.hpp"
#include "bpnet/model.hpp"
#include "bpnet/train.hpp"

namespace bpnet {

struct LayerDiagnostics {
  std::size_t layer = 0;  // 1-based position in the layer list
  std::string type;
  std::optional<double> gradient_norm;  // layers with parameters
  std::optional<double> update_ratio;
  std::optional<double> saturated;  // Sigmoid, Tanh
  std::optional<double> dead;       // ReLU, LeakyReLU
};

struct Histogram {
  std::size_t layer = 0;
  std::string of;  // "weights" or "outputs"
  double low = 0, high = 0;
  std::vector<std::size_t> counts;  // equal-width bins over [low, high]
};

struct EpochDiagnostics {
  std::size_t epoch = 0;
  std::vector<LayerDiagnostics> layers;
  std::vector<Histogram> histograms;  // empty unless asked for this epoch
};

// Fraction of `outputs` within 1% of the output range from an asymptote:
// Sigmoid below 0.01 or above 0.99, Tanh beyond +-0.98.
double saturated_fraction(std::string_view type, ConstMatrixView<float> outputs);
// Fraction of columns (units) with no positive entry in any row.
double dead_fraction(ConstMatrixView<float> outputs);
// Equal-width histogram of finite values (empty counts if there are none).
Histogram histogram(std::span<const float> values, std::size_t bins);

class DiagnosticsRecorder {
 public:
  // The probe batch: the first `probe_size` images of `data`, normalised as
  // the model wants them.
  DiagnosticsRecorder(const Model<float>& model, const Dataset& data, std::size_t probe_size = 512,
                      std::size_t sample_every = 16);

  // After every optimizer step, with the step's gradients still in the model.
  void after_step(const Model<float>& model);
  // At the end of an epoch (full-batch gd: measures its one step here).
  EpochDiagnostics end_epoch(const Model<float>& model, std::size_t epoch, bool with_histograms);

 private:
  void measure_update(const Model<float>& model, std::span<const float> before);

  Matrix<float> probe_;
  std::size_t sample_every_;
  std::uint64_t steps_ = 0;
  std::vector<float> before_step_;   // parameters after the previous step, when sampling
  std::vector<float> epoch_start_;   // parameters at the end of the previous epoch
  std::vector<double> gradient_sum_, ratio_sum_;  // per layer, over the samples
  std::size_t samples_ = 0;
};

// Warnings for the latest epoch, each once per layer and kind per run (kept
// in `warned`): saturated or dead fractions above one half, and a training
// loss that rose in two of the last three epochs. Each names the likely
// cause and what to try.
std::vector<std::string> diagnose(const std::vector<EpochRecord>& history, const EpochDiagnostics& latest,
                                  std::set<std::string>& warned);

}  // namespace bpnet
