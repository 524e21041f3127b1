// Finite-difference checks in double precision of every layer, activation
// and loss, and of whole networks, through the library's own checker.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "bpnet/error.hpp"
#include "bpnet/gradcheck.hpp"
#include "bpnet/model.hpp"
#include "kernels/kernel_threads.hpp"

namespace bpnet {
namespace {

constexpr double kTolerance = 1e-6;

Matrix<double> random_matrix(std::size_t rows, std::size_t cols, double scale, Rng& rng) {
  Matrix<double> m(rows, cols);
  for (std::size_t i = 0; i < rows * cols; ++i) m.data()[i] = rng.uniform(-scale, scale);
  return m;
}

void expect_layer_gradients_match(Layer<double>& layer, double input_scale, Mode mode = Mode::train) {
  Rng rng(42);
  const Matrix<double> x = random_matrix(4, layer.in_features(), input_scale, rng);
  const GradientCheck check = check_layer_gradients(layer, x, rng, mode);
  EXPECT_LT(check.input_error, kTolerance) << layer.type();
  EXPECT_GT(check.input_gradient_norm, 1e-3) << layer.type() << ": trivially zero gradient";
  if (layer.parameter_count() > 0) {
    EXPECT_LT(check.parameter_error, kTolerance) << layer.type();
    EXPECT_GT(check.parameter_gradient_norm, 1e-3) << layer.type();
  }
}

TEST(GradientCheck, Linear) {
  Linear<double> layer(7, 5);
  expect_layer_gradients_match(layer, 1.0);
}

TEST(GradientCheck, Sigmoid) {
  Sigmoid<double> layer(6);
  expect_layer_gradients_match(layer, 3.0);
}

TEST(GradientCheck, Tanh) {
  Tanh<double> layer(6);
  expect_layer_gradients_match(layer, 2.0);
}

TEST(GradientCheck, ReLU) {
  ReLU<double> layer(6);
  expect_layer_gradients_match(layer, 1.0);
}

TEST(GradientCheck, LeakyReLU) {
  LeakyReLU<double> layer(6, 0.1);
  expect_layer_gradients_match(layer, 1.0);
}

TEST(GradientCheck, GELU) {
  GELU<double> layer(6);
  expect_layer_gradients_match(layer, 2.0);
}

TEST(GradientCheck, DropoutWithItsFixedMask) {
  // The checker's stream is fixed, so every forward draws the same mask.
  Dropout<double> layer(8, 0.3);
  expect_layer_gradients_match(layer, 1.0);
}

TEST(GradientCheck, BatchNorm1dTrainingModeThroughTheBatchStatistics) {
  // Input, weight and bias gradients, with the mean and variance of the
  // batch depending on every input (the checker moves weight and bias off
  // 1 and 0, so no term vanishes by accident).
  BatchNorm1d<double> layer(5, 1e-5, 0.1);
  Rng rng(42);
  const Matrix<double> x = random_matrix(6, 5, 2.0, rng);
  const GradientCheck check = check_layer_gradients(layer, x, rng);
  EXPECT_LT(check.input_error, kTolerance);
  EXPECT_LT(check.parameter_error, kTolerance);
  EXPECT_GT(check.input_gradient_norm, 1e-3);
  EXPECT_GT(check.parameter_gradient_norm, 1e-3);
}

TEST(GradientCheck, BatchNorm1dEvalMode) {
  BatchNorm1d<double> layer(5, 1e-5, 0.1);
  expect_layer_gradients_match(layer, 2.0, Mode::eval);
}

TEST(GradientCheck, Softmax) {
  Softmax<double> layer(5);
  expect_layer_gradients_match(layer, 2.0);
}

TEST(GradientCheck, LogSoftmax) {
  LogSoftmax<double> layer(5);
  expect_layer_gradients_match(layer, 2.0);
}

TEST(GradientCheck, CheckerCatchesAWrongGradient) {
  // A layer whose backward is off by a factor: the checker must notice.
  struct BrokenTanh final : ShapePreservingLayer<double> {
    using ShapePreservingLayer::ShapePreservingLayer;
    std::string_view type() const override { return "BrokenTanh"; }
    void forward(const LayerContext<double>& ctx, ConstMatrixView<double> x, MatrixView<double> y) const override {
      Tanh<double>(x.cols).forward(ctx, x, y);
    }
    void backward_input(const LayerContext<double>& ctx, ConstMatrixView<double> x, ConstMatrixView<double> y,
                        ConstMatrixView<double> dy, MatrixView<double> dx) const override {
      Tanh<double>(x.cols).backward_input(ctx, x, y, dy, dx);
      for (std::size_t i = 0; i < dx.size(); ++i) dx.data[i] *= 1.01;
    }
  };
  BrokenTanh layer(4);
  Rng rng(1);
  const Matrix<double> x = random_matrix(3, 4, 1.0, rng);
  EXPECT_GT(check_layer_gradients(layer, x, rng).input_error, 1e-3);
}

class LossGradient : public ::testing::TestWithParam<LossKind> {};

TEST_P(LossGradient, MatchesFiniteDifferences) {
  Rng rng(7);
  Matrix<double> input = random_matrix(5, 4, 2.0, rng);
  if (GetParam() == LossKind::nll) {
    // NLL takes log-probabilities: make each row one.
    LogSoftmax<double>(4).forward({}, Matrix<double>(input), input);
  }
  const std::vector<std::uint8_t> labels{0, 3, 1, 2, 3};
  const auto loss = make_loss<double>(GetParam());
  const GradientCheck check = check_loss_gradient(*loss, input, labels);
  EXPECT_LT(check.input_error, kTolerance);
  EXPECT_GT(check.input_gradient_norm, 1e-3);
}

INSTANTIATE_TEST_SUITE_P(AllLosses, LossGradient,
                         ::testing::Values(LossKind::nll, LossKind::cross_entropy, LossKind::mse));

TEST(LossGradient, LabelSmoothingMatchesFiniteDifferences) {
  for (const LossKind kind : {LossKind::nll, LossKind::cross_entropy}) {
    Rng rng(11);
    Matrix<double> input = random_matrix(5, 4, 2.0, rng);
    if (kind == LossKind::nll) LogSoftmax<double>(4).forward({}, Matrix<double>(input), input);
    const std::vector<std::uint8_t> labels{0, 3, 1, 2, 3};
    const auto smoothed = make_loss<double>(kind, 0.2);
    const GradientCheck check = check_loss_gradient(*smoothed, input, labels);
    EXPECT_LT(check.input_error, kTolerance) << name(kind);
    EXPECT_GT(check.input_gradient_norm, 1e-3) << name(kind);
    // Smoothing changes the loss: the target is no longer one-hot.
    EXPECT_GT(std::abs(smoothed->sum(input, labels) - make_loss<double>(kind)->sum(input, labels)), 1e-3) << name(kind);
  }
}

TEST(LossGradient, LabelSmoothingIsRefusedForMseAndOutsideItsRange) {
  EXPECT_THROW(make_loss<double>(LossKind::mse, 0.1), ConfigError);
  EXPECT_THROW(make_loss<double>(LossKind::nll, 1.0), ConfigError);
  EXPECT_THROW(make_loss<double>(LossKind::cross_entropy, -0.1), ConfigError);
}

TEST(LossValues, ExactReferenceValues) {
  // logits (1, 3) = [1, 2, 3], label 2.
  Matrix<double> z(1, 3);
  z(0, 0) = 1;
  z(0, 1) = 2;
  z(0, 2) = 3;
  const std::vector<std::uint8_t> label{2};
  // log(e^1 + e^2 + e^3) - 3 = 0.40760596444437...
  EXPECT_NEAR(make_loss<double>(LossKind::cross_entropy)->sum(z, label), 0.4076059644443806, 1e-15);
  // NLL is minus the input at the label.
  EXPECT_DOUBLE_EQ(make_loss<double>(LossKind::nll)->sum(z, label), -3.0);
  // MSE against one-hot [0, 0, 1]: (1 + 4 + 4) / 3.
  EXPECT_DOUBLE_EQ(make_loss<double>(LossKind::mse)->sum(z, label), 3.0);
}

struct ModelCase {
  const char* name;
  std::vector<LayerSpec> layers;
  LossKind loss;
};

class ModelGradient : public ::testing::TestWithParam<ModelCase> {};

TEST_P(ModelGradient, EndToEndParameterGradient) {
  ModelSpec spec;
  spec.inputs = 6;
  spec.image_rows = 2;
  spec.image_cols = 3;
  spec.layers = GetParam().layers;
  spec.loss = GetParam().loss;
  Model<double> model(spec);
  Rng rng(3);
  model.initialize(Init::torch, rng);
  const Matrix<double> x = random_matrix(4, 6, 1.0, rng);
  const std::vector<std::uint8_t> labels{0, 2, 1, 2};
  const GradientCheck check = check_model_gradients(model, x, labels);
  // Through several layers the finite differences themselves carry ~1e-6 noise.
  EXPECT_LT(check.parameter_error, 10 * kTolerance);
  EXPECT_GT(check.parameter_gradient_norm, 1e-3);
}

LayerSpec linear(double out) { return {"Linear", {{"out", out}}}; }
LayerSpec plain(const char* type) { return {type, {}}; }

INSTANTIATE_TEST_SUITE_P(
    Stacks, ModelGradient,
    ::testing::Values(
        ModelCase{"ReluNll", {linear(5), plain("ReLU"), linear(4), plain("ReLU"), linear(3), plain("LogSoftmax")},
                  LossKind::nll},
        ModelCase{"ReluCrossEntropy", {linear(5), plain("ReLU"), linear(3), plain("Softmax")}, LossKind::cross_entropy},
        ModelCase{"SigmoidLogits", {linear(5), plain("Sigmoid"), linear(3)}, LossKind::cross_entropy},
        ModelCase{"TanhMse", {linear(5), plain("Tanh"), linear(3), plain("Softmax")}, LossKind::mse},
        ModelCase{"BatchNormDropoutGelu",
                  {linear(5), plain("BatchNorm1d"), plain("GELU"), {"Dropout", {{"p", 0.25}}}, linear(4),
                   {"LeakyReLU", {{"slope", 0.2}}}, linear(3), plain("LogSoftmax")},
                  LossKind::nll}),
    [](const ::testing::TestParamInfo<ModelCase>& param_info) { return std::string(param_info.param.name); });

// A training step writes its gradient over the last one instead of zeroing
// the buffer and adding: the same values (compared with ==, so a zero's sign
// may differ), into a buffer of NaN, through Linear, BatchNorm1d and Dropout,
// on one thread and on two (the kernel threads cut the products).
TEST(ModelGradient, WritingOverTheBufferEqualsZeroingThenAdding) {
  // Wide enough (300 -> 96 over 130 rows) for the kernel threads to cut the products.
  const std::vector<LayerSpec> layers = {linear(96), {"BatchNorm1d", {}}, {"ReLU", {}}, {"Dropout", {{"p", 0.3}}},
                                         linear(16), {"Tanh", {}}, linear(3), {"LogSoftmax", {}}};
  ModelSpec spec;
  spec.inputs = 300;
  spec.image_rows = 15;
  spec.image_cols = 20;
  spec.layers = layers;
  Model<float> model(spec);
  Rng rng(9);
  model.initialize(Init::torch, rng);
  Matrix<float> x(130, 300), d_out(130, 3);
  for (std::size_t i = 0; i < x.rows() * x.cols(); ++i) x.data()[i] = static_cast<float>(rng.uniform(-1, 1));
  for (std::size_t i = 0; i < d_out.rows() * d_out.cols(); ++i) {
    d_out.data()[i] = static_cast<float>(rng.uniform(-1, 1));
  }
  for (const int threads : {1, 2}) {
    set_kernel_threads(threads);
    Workspace<float> ws;
    model.forward_train(ws, x, model.depth(), {5, 1, 0});
    std::vector<float> added(model.parameters().size(), 0.0f);
    std::vector<float> written(model.parameters().size(), std::nanf(""));
    model.backward(ws, x, d_out, added, GradientWrite::add);
    model.backward(ws, x, d_out, written, GradientWrite::overwrite);
    for (std::size_t i = 0; i < added.size(); ++i) {
      ASSERT_TRUE(written[i] == added[i]) << "parameter " << i << " on " << threads << " threads: " << written[i]
                                          << " against " << added[i];
    }
  }
  set_kernel_threads(0);
}

// What Model computed before a ReLU next to a Linear ran inside the
// Linear's products: each layer's own forward, then back-propagation layer
// by layer. Returns the last output and the parameter gradient.
std::pair<Matrix<float>, std::vector<float>> one_layer_at_a_time(const Model<float>& model, const Matrix<float>& x,
                                                                 const Matrix<float>& d_out, std::size_t depth,
                                                                 const TrainingStep& step) {
  std::vector<Matrix<float>> outputs(depth);
  std::vector<std::vector<float>> scratch(depth);
  std::vector<LayerContext<float>> contexts(depth);
  std::vector<std::size_t> offsets{0};
  for (std::size_t i = 0; i < model.depth(); ++i) offsets.push_back(offsets.back() + model.layer(i).parameter_count());
  ConstMatrixView<float> input = x;
  for (std::size_t i = 0; i < depth; ++i) {
    contexts[i] = {Mode::train, RandomStream(step.seed, step.step, i), &scratch[i], step.first_row};
    outputs[i].resize(x.rows(), model.layer(i).out_features());
    model.layer(i).forward(contexts[i], input, outputs[i]);
    input = outputs[i];
  }
  std::vector<float> grads(model.parameters().size(), 0.0f);
  Matrix<float> dy = d_out, dx;
  for (std::size_t i = depth; i-- > 0;) {
    const ConstMatrixView<float> in = i == 0 ? ConstMatrixView<float>(x) : ConstMatrixView<float>(outputs[i - 1]);
    model.layer(i).parameter_gradient(contexts[i], in, dy,
                                      std::span(grads).subspan(offsets[i], model.layer(i).parameter_count()),
                                      GradientWrite::overwrite);
    if (i == 0) break;
    dx.resize(x.rows(), model.layer(i).in_features());
    model.layer(i).backward_input(contexts[i], in, outputs[i], dy, dx);
    std::swap(dx, dy);
  }
  return {outputs[depth - 1], grads};
}

bool same_bits(std::span<const float> a, std::span<const float> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// A ReLU right after a Linear runs inside its forward product, and one right
// before a Linear inside that Linear's dx: the same floats as running every
// layer on its own, forward and back, on one and on two threads (the
// products cut into tiles), for a ReLU in the middle, at the end, first,
// before a Dropout, and for a forward stopping between a Linear and its ReLU.
TEST(ModelGradient, AReluInsideTheLinearProductsGivesTheFloatsOfEachLayerOnItsOwn) {
  const LayerSpec relu = plain("ReLU");
  const std::vector<std::vector<LayerSpec>> stacks = {
      {linear(96), relu, linear(40), relu, linear(3), plain("LogSoftmax")},
      {linear(96), relu, {"Dropout", {{"p", 0.3}}}, linear(40), relu},
      {relu, linear(96), relu, linear(3)}};
  Rng rng(17);
  Matrix<float> x(130, 300);
  for (std::size_t i = 0; i < x.rows() * x.cols(); ++i) x.data()[i] = static_cast<float>(rng.uniform(-1, 1));
  for (std::size_t s = 0; s < stacks.size(); ++s) {
    ModelSpec spec;
    spec.inputs = 300;
    spec.image_rows = 15;
    spec.image_cols = 20;
    spec.layers = stacks[s];
    spec.loss = s == 0 ? LossKind::nll : LossKind::cross_entropy;
    Model<float> model(spec);
    model.initialize(Init::torch, rng);
    for (const std::size_t depth : {model.depth(), std::size_t{1}}) {
      Matrix<float> d_out(x.rows(), model.layer(depth - 1).out_features());
      for (std::size_t i = 0; i < d_out.rows() * d_out.cols(); ++i) {
        d_out.data()[i] = static_cast<float>(rng.uniform(-1, 1));
      }
      const TrainingStep step{5, 3, 0};
      const auto [want_out, want_grads] = one_layer_at_a_time(model, x, d_out, depth, step);
      for (const int threads : {1, 2}) {
        set_kernel_threads(threads);
        Workspace<float> ws;
        const ConstMatrixView<float> out = model.forward_train(ws, x, depth, step);
        std::vector<float> grads(model.parameters().size(), std::nanf(""));
        model.backward(ws, x, d_out, grads, GradientWrite::overwrite);
        const std::string what = "stack " + std::to_string(s) + ", depth " + std::to_string(depth) + ", " +
                                 std::to_string(threads) + " threads";
        EXPECT_TRUE(same_bits({out.data, out.size()}, {want_out.data(), want_out.rows() * want_out.cols()})) << what;
        // The layers the pass covered (a backward from depth 1 leaves the others' gradients alone).
        const std::size_t covered = depth == model.depth() ? grads.size() : model.layer(0).parameter_count();
        EXPECT_TRUE(same_bits(std::span(grads).first(covered), std::span(want_grads).first(covered))) << what;
      }
    }
  }
  set_kernel_threads(0);
}

}  // namespace
}  // namespace bpnet
