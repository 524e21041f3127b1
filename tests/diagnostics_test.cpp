// The learning-rate range test on a problem whose answer is known, and the
// training diagnostics on layers with known outputs.
#include <gtest/gtest.h>

#include <cmath>

#include "bpnet/diagnostics.hpp"
#include "bpnet/error.hpp"
#include "bpnet/lr_find.hpp"
#include "bpnet/preprocess.hpp"
#include "test_support.hpp"

namespace bpnet {
namespace {

// Linear least squares: one Linear layer, MSE against one-hot targets,
// full-batch gradient descent. L = 1/(N C) sum (W x~ - t)^2 has Hessian
// (2/C) X~'X~/N for each output's weights (x~ = [x, 1]), so gradient descent
// is stable exactly for lr < 2 / lambda_max = C / lambda_max(X~'X~/N).
double stable_lr_bound(const Dataset& data, std::size_t classes) {
  const std::size_t n = data.count, f = data.features() + 1;
  std::vector<double> gram(f * f, 0.0);
  const PixelScale pixels = pixel_scale(Normalize::unit);
  std::vector<double> x(f);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j + 1 < f; ++j) x[j] = pixels(data.image(i)[j]);
    x[f - 1] = 1;
    for (std::size_t a = 0; a < f; ++a) {
      for (std::size_t b = 0; b < f; ++b) gram[a * f + b] += x[a] * x[b] / static_cast<double>(n);
    }
  }
  // Power iteration for the largest eigenvalue of the (positive semi-definite) matrix.
  std::vector<double> v(f, 1.0), w(f);
  double lambda = 0;
  for (int it = 0; it < 500; ++it) {
    double norm = 0;
    for (std::size_t a = 0; a < f; ++a) {
      w[a] = 0;
      for (std::size_t b = 0; b < f; ++b) w[a] += gram[a * f + b] * v[b];
      norm += w[a] * w[a];
    }
    norm = std::sqrt(norm);
    lambda = norm;
    for (std::size_t a = 0; a < f; ++a) v[a] = w[a] / norm;
  }
  return static_cast<double>(classes) / lambda;
}

TEST(LrFind, LeastSquaresSuggestsAStableRateAndStopsOnlyBeyondTheBound) {
  const Dataset data = testing::synthetic_dataset(200, 5);
  TrainConfig config;
  config.model.layers = {{"Linear", {{"out", 10}}}};
  config.model.loss = LossKind::mse;
  config.model.normalize = Normalize::unit;
  config.optimizer.kind = OptimizerKind::gd;
  config.batch = 50;
  config.threads = 1;
  const double bound = stable_lr_bound(data, 10);
  LrFindOptions options;
  options.lr_min = bound / 1000;
  options.lr_max = bound * 100;
  options.steps = 200;
  const LrFindResult result = lr_find(config, data, options);
  ASSERT_TRUE(result.diverged) << "the loss never diverged up to 100x the stable bound " << bound;
  // Below the bound every step lowers a quadratic loss, so the stop can only come past it.
  EXPECT_GT(result.points.back().lr, bound);
  EXPECT_LT(result.suggested_lr, bound);
  EXPECT_LT(result.suggested_lr, result.minimum_lr);
  // Below the bound the recorded losses never rise.
  for (std::size_t i = 1; i < result.points.size() && result.points[i].lr < bound; ++i) {
    EXPECT_LE(result.points[i].loss, result.points[i - 1].loss * (1 + 1e-6)) << "step " << i;
  }
}

TEST(LrFind, AnalysisFindsTheSteepestFallAndTheMinimumOfAKnownCurve) {
  // loss = 2 - tanh(log10(lr) + 3) until lr = 0.1, then rising: steepest at 1e-3.
  std::vector<LrFindPoint> points;
  for (int i = 0; i <= 300; ++i) {
    const double e = -6 + 6.0 * i / 300;  // 1e-6 .. 1
    const double loss = e < -1 ? 2 - std::tanh(e + 3) : 2 - std::tanh(2.0) + 10 * (e + 1) * (e + 1);
    points.push_back({std::pow(10.0, e), loss, 0});
  }
  const LrFindResult r = analyse_range_test(points, true);
  EXPECT_NEAR(std::log10(r.steepest_lr), -3, 0.1);
  EXPECT_NEAR(std::log10(r.minimum_lr), -1, 0.1);
  EXPECT_EQ(r.suggested_lr, r.steepest_lr);
}

TEST(LrFind, RejectsAbsurdRanges) {
  for (const auto& [lo, hi] : {std::pair{0.0, 1.0}, {1.0, 0.1}, {1e-3, 1e4}}) {
    LrFindOptions o;
    o.lr_min = lo;
    o.lr_max = hi;
    EXPECT_THROW(o.validate(), ConfigError) << lo << " " << hi;
  }
}

Matrix<float> matrix(std::size_t rows, std::size_t cols, std::initializer_list<float> values) {
  Matrix<float> m(rows, cols);
  std::copy(values.begin(), values.end(), m.data());
  return m;
}

TEST(Diagnostics, SaturatedFractionsOfKnownOutputs) {
  EXPECT_DOUBLE_EQ(saturated_fraction("Sigmoid", matrix(2, 3, {0.005f, 0.5f, 0.995f, 0.3f, 0.011f, 0.9999f})), 0.5);
  EXPECT_DOUBLE_EQ(saturated_fraction("Tanh", matrix(1, 4, {0.99f, -0.999f, 0.5f, -0.97f})), 0.5);
}

TEST(Diagnostics, DeadUnitsAreThoseNeverActive) {
  // Units 0 and 2 are 0 for every image; unit 3 fires once.
  EXPECT_DOUBLE_EQ(dead_fraction(matrix(3, 4, {0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0.5f})), 0.5);
}

TEST(Diagnostics, HistogramCountsEveryFiniteValue) {
  const std::vector<float> values{0, 1, 2, 3, 4, NAN};
  const Histogram h = histogram(values, 4);
  EXPECT_EQ(h.low, 0);
  EXPECT_EQ(h.high, 4);
  EXPECT_EQ(h.counts, (std::vector<std::size_t>{1, 1, 1, 2}));
}

TEST(Diagnostics, UpdateRatioIsTheRateTimesTheGradientNormForPlainSgd) {
  // For SGD without momentum a step is -lr g, so |dp| / |p| = lr |g| / |p|:
  // the update measured from the parameters and the gradient norm measured
  // from the gradients must agree.
  const Dataset data = testing::synthetic_dataset(128, 9);
  TrainConfig config;
  config.model = testing::mlp_spec({20, 12, 10}, Activation::tanh);
  config.optimizer.lr = 0.05;
  config.batch = 16;
  config.epochs = 1;
  config.threads = 1;
  Trainer trainer(config, data);
  DiagnosticsRecorder recorder(trainer.model(), data, 64, 1);
  std::vector<float> before = testing::values(trainer.model().parameters());
  double expected_first_layer_ratio = 0, expected_first_layer_gradient = 0;
  std::size_t steps = 0;
  trainer.run_epoch([&](std::size_t, std::size_t, double, double) {
    const Model<float>& m = trainer.model();
    recorder.after_step(m);
    const std::size_t n = m.layer(0).parameter_count();
    double g = 0, p = 0;
    for (std::size_t k = 0; k < n; ++k) g += double{m.gradients()[k]} * m.gradients()[k], p += double{before[k]} * before[k];
    if (steps++ > 0) {
      expected_first_layer_ratio += config.optimizer.lr * std::sqrt(g) / std::sqrt(p);
      expected_first_layer_gradient += std::sqrt(g);
    }
    before = testing::values(m.parameters());
  });
  const EpochDiagnostics d = recorder.end_epoch(trainer.model(), 1, true);
  ASSERT_EQ(d.layers.size(), 4u);
  EXPECT_NEAR(*d.layers[0].update_ratio, expected_first_layer_ratio / static_cast<double>(steps - 1), 1e-6);
  EXPECT_NEAR(*d.layers[0].gradient_norm, expected_first_layer_gradient / static_cast<double>(steps - 1), 1e-9);
  EXPECT_TRUE(d.layers[1].saturated.has_value());  // Tanh
  EXPECT_FALSE(d.layers[1].gradient_norm.has_value());
  EXPECT_FALSE(d.histograms.empty());
}

TEST(Diagnostics, WarningsNameTheCauseOncePerLayer) {
  EpochDiagnostics latest;
  latest.layers = {{1, "Linear", 0.1, 1e-3, {}, {}}, {2, "Sigmoid", {}, {}, 0.8, {}}, {3, "ReLU", {}, {}, {}, 0.7}};
  std::vector<EpochRecord> history(2);
  std::set<std::string> warned;
  const auto first = diagnose(history, latest, warned);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_NE(first[0].find("80% of its outputs are saturated"), std::string::npos) << first[0];
  EXPECT_NE(first[0].find("paralysis"), std::string::npos);
  EXPECT_NE(first[1].find("70% of its units output 0"), std::string::npos) << first[1];
  EXPECT_TRUE(diagnose(history, latest, warned).empty());
  // A loss that rises in two of the last three epochs.
  std::vector<EpochRecord> oscillating(5);
  const double losses[] = {1.0, 0.8, 0.9, 0.7, 0.95};
  for (std::size_t i = 0; i < 5; ++i) oscillating[i].loss = losses[i];
  const auto later = diagnose(oscillating, {}, warned);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_NE(later[0].find("rose in 2 of the last 3 epochs"), std::string::npos) << later[0];
}

}  // namespace
}  // namespace bpnet
