// The layer list: random streams, dropout masks, the registry's checks of a
// list, --arch files, and version 1 model files read as layer lists.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "bpnet/error.hpp"
#include "bpnet/layer_registry.hpp"
#include "bpnet/model_file.hpp"
#include "bpnet/predictor.hpp"
#include "test_support.hpp"

namespace bpnet {
namespace {

TEST(Random, KnownAnswers) {
  // From tools/reference/random_reference.py, an independent implementation.
  Rng rng(1);
  EXPECT_EQ(rng.next_u64(), 0xb3f2af6d0fc710c5ULL);
  EXPECT_EQ(rng.next_u64(), 0x853b559647364ceaULL);
  EXPECT_EQ(rng.next_u64(), 0x92f89756082a4514ULL);
  const RandomStream stream(7, 3, 2);
  EXPECT_EQ(stream.bits(0), 0x574e4296709eef87ULL);
  EXPECT_EQ(stream.bits(1), 0x6a9fceb5bcd2b14eULL);
  EXPECT_EQ(stream.bits(2), 0xb32d14c190043e6bULL);
}

TEST(Random, StreamsOfNeighbouringStepsAndLayersDiffer) {
  const RandomStream base(1, 5, 2);
  EXPECT_NE(base.bits(0), RandomStream(1, 6, 2).bits(0));
  EXPECT_NE(base.bits(0), RandomStream(1, 5, 3).bits(0));
  EXPECT_NE(base.bits(0), RandomStream(2, 5, 2).bits(0));
  EXPECT_EQ(base.bits(9), RandomStream(1, 5, 2).bits(9)) << "a pure function of (key, index)";
}

TEST(Dropout, InvertedDropoutDropsAboutPAndScalesTheRest) {
  constexpr std::size_t kRows = 200, kWidth = 50;
  constexpr double kP = 0.3;
  Dropout<float> layer(kWidth, kP);
  Matrix<float> x(kRows, kWidth), y(kRows, kWidth), dx(kRows, kWidth);
  for (std::size_t i = 0; i < kRows * kWidth; ++i) x.data()[i] = 1.0f + static_cast<float>(i % 7);
  std::vector<float> scratch;
  const LayerContext<float> ctx{Mode::train, RandomStream(1, 0, 4), &scratch};
  layer.forward(ctx, x, y);
  std::size_t dropped = 0;
  for (std::size_t i = 0; i < kRows * kWidth; ++i) {
    if (y.data()[i] == 0.0f) {
      ++dropped;
    } else {
      EXPECT_FLOAT_EQ(y.data()[i], x.data()[i] / (1.0f - static_cast<float>(kP)));
    }
  }
  // 10,000 draws: the fraction is within 4 standard deviations (0.018) of p.
  EXPECT_NEAR(static_cast<double>(dropped) / (kRows * kWidth), kP, 0.018);
  // Backward lets the gradient through exactly where forward let x through.
  Matrix<float> dy(kRows, kWidth);
  for (std::size_t i = 0; i < kRows * kWidth; ++i) dy.data()[i] = 1.0f;
  layer.backward_input(ctx, x, y, dy, dx);
  for (std::size_t i = 0; i < kRows * kWidth; ++i) EXPECT_EQ(dx.data()[i] == 0.0f, y.data()[i] == 0.0f) << i;
  // The same stream draws the same mask; eval mode is the identity.
  Matrix<float> again(kRows, kWidth);
  layer.forward(ctx, x, again);
  EXPECT_EQ(std::vector<float>(again.data(), again.data() + kRows * kWidth),
            std::vector<float>(y.data(), y.data() + kRows * kWidth));
  layer.forward({Mode::eval, {}, &scratch}, x, again);
  EXPECT_EQ(std::vector<float>(again.data(), again.data() + kRows * kWidth),
            std::vector<float>(x.data(), x.data() + kRows * kWidth));
}

void expect_spec_error(const ModelSpec& spec, const std::string& part) {
  try {
    spec.validate();
    FAIL() << "accepted; expected: " << part;
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

ModelSpec spec_of(std::vector<LayerSpec> layers, LossKind loss = LossKind::nll) {
  ModelSpec spec;
  spec.inputs = 20;
  spec.layers = std::move(layers);
  spec.loss = loss;
  return spec;
}

TEST(LayerList, InvalidListsNameTheOffendingEntry) {
  const LayerSpec head{"Linear", {{"out", 10}}};
  const LayerSpec tail{"LogSoftmax", {}};
  expect_spec_error(spec_of({head, {"Relu", {}}, tail}), "layer 2: unknown layer type 'Relu'; did you mean 'ReLU'?");
  expect_spec_error(spec_of({head, {"Dropout", {{"p", 1.0}}}, tail}), "layer 2 (Dropout): p must be a number in [0, 1)");
  expect_spec_error(spec_of({head, {"Dropout", {{"q", 0.5}}}, tail}), "layer 2 (Dropout): unknown attribute 'q'");
  expect_spec_error(spec_of({{"Linear", {{"out", 2.5}}}, tail}), "layer 1 (Linear): out must be an integer");
  expect_spec_error(spec_of({{"Linear", {}}, tail}), "layer 1 (Linear): needs its output size");
  expect_spec_error(spec_of({{"ReLU", {}}, tail}), "no Linear layer");
  expect_spec_error(spec_of({{"Linear", {{"out", 1}}}, tail}), "needs 2 to 256");
  expect_spec_error(spec_of({head, {"Softmax", {}}}), "layer 2 (Softmax): loss 'nll' takes log-probabilities");
  expect_spec_error(spec_of({head, tail}, LossKind::cross_entropy), "loss 'cross-entropy' takes logits");
  expect_spec_error(spec_of({}), "a model needs 1 to 256 layers");
  EXPECT_NO_THROW(spec_of({head, {"BatchNorm1d", {{"momentum", 0.2}}}, {"GELU", {}}, tail}).validate());
}

TEST(LayerList, ShapesAndCountsAreInferredFromTheInputSize) {
  const ModelSpec spec = spec_of({{"Linear", {{"out", 8}}}, {"BatchNorm1d", {}}, {"ReLU", {}}, {"Dropout", {{"p", 0.1}}},
                                  {"Linear", {{"out", 3}}}, {"LogSoftmax", {}}});
  EXPECT_EQ(spec.widths(), (std::vector<std::size_t>{8, 8, 8, 8, 3, 3}));
  EXPECT_EQ(spec.parameter_count(), 20u * 8 + 8 + 2 * 8 + 8 * 3 + 3);
  EXPECT_EQ(spec.buffer_count(), 2u * 8);
  EXPECT_EQ(spec.classes(), 3u);
}

TEST(LayerList, ShorthandExpandsToPyTorchOrder) {
  const ModelSpec spec = expand({.sizes = {20, 8, 3}, .activation = Activation::gelu, .output = Output::log_softmax,
                                 .dropout = 0.2, .batchnorm = true},
                                LossKind::nll, Normalize::unit);
  std::vector<std::string> types;
  for (const LayerSpec& l : spec.layers) types.push_back(l.type);
  EXPECT_EQ(types, (std::vector<std::string>{"Linear", "BatchNorm1d", "GELU", "Dropout", "Linear", "LogSoftmax"}));
  EXPECT_EQ(spec.inputs, 20u);
}

TEST(ArchFile, ReadsAListAndRejectsBadOnesNamingTheFile) {
  testing::ScratchDir dir;
  const auto write = [&](const std::string& name, const std::string& text) {
    testing::write_bytes(dir / name, testing::Bytes(text.begin(), text.end()));
    return (dir / name).string();
  };
  const auto good = write("good.json", R"([{"type":"Linear","out":256},{"type":"BatchNorm1d"},{"type":"ReLU"},
      {"type":"Dropout","p":0.2},{"type":"Linear","out":10},{"type":"LogSoftmax"}])");
  const std::vector<LayerSpec> layers = read_layer_list(good);
  ASSERT_EQ(layers.size(), 6u);
  EXPECT_EQ(layers[3], (LayerSpec{"Dropout", {{"p", 0.2}}}));

  const auto expect_error = [](const std::string& path, const std::string& part) {
    try {
      read_layer_list(path);
      FAIL() << "accepted " << path;
    } catch (const ConfigError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(path), std::string::npos) << message;
      EXPECT_NE(message.find(part), std::string::npos) << message;
    }
  };
  expect_error(write("syntax.json", R"([{"type":"Linear",)"), "not valid JSON at byte");
  expect_error(write("object.json", R"({"type":"Linear"})"), "must be a JSON array");
  expect_error(write("notype.json", R"([{"out":3}])"), "layer 1: needs a \"type\" string");
  expect_error(write("string.json", R"([{"type":"Dropout","p":"0.5"}])"), "attribute 'p' must be a number");
  expect_error(write("range.json", R"([{"type":"Linear","out":4},{"type":"Dropout","p":-0.5}])"),
               "layer 2 (Dropout): p must be");
  expect_error((dir / "absent.json").string(), "no such file");
}

TEST(ModelFileV1, AFileMadeBeforeLayerListsLoadsAndPredictsExactlyAsBefore) {
  // tests/fixtures/model_v1.bpn was written by bpnet 0.1.0 (format version 1):
  // 20 inputs (4x5), Linear 8, Tanh, Linear 6, Tanh, Linear 4, LogSoftmax,
  // initialised from Rng(7). Its outputs for three rows of Rng(11).uniform01()
  // were printed by that version in hexadecimal, bit for bit; they hold to
  // within a few float roundings since the few-rows kernel sums with FMA in
  // sixteen lanes (the parameters themselves load bit for bit, below).
  const auto model = load_model(BPNET_SOURCE_DIR "/tests/fixtures/model_v1.bpn");
  EXPECT_EQ(model->spec().describe(), "20 -> Linear(8) -> Tanh -> Linear(6) -> Tanh -> Linear(4) -> LogSoftmax");
  EXPECT_EQ(model->spec().image_rows, 4u);
  EXPECT_EQ(model->spec().normalize, Normalize::unit);
  Matrix<float> x(3, 20);
  Rng in(11);
  for (std::size_t i = 0; i < 60; ++i) x.data()[i] = static_cast<float>(in.uniform01());
  const std::vector<float> expected{
      -0x1.65e56ap+0f, -0x1.4746fap+0f, -0x1.a69fbcp+0f, -0x1.438c98p+0f,
      -0x1.5b2568p+0f, -0x1.45acb8p+0f, -0x1.9fd6dcp+0f, -0x1.53ea42p+0f,
      -0x1.52c298p+0f, -0x1.4ce62ep+0f, -0x1.bc467p+0f,  -0x1.415ac4p+0f};
  Predictor predictor(*model);
  const ConstMatrixView<float> out = predictor.forward(x);
  ASSERT_EQ(out.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(out.data[i], expected[i], 1e-6f) << i;
  // Saved again it becomes a version 2 file with the same layers and numbers.
  const auto again = decode_model(encode_model(*model), "again");
  EXPECT_EQ(again->spec(), model->spec());
  EXPECT_EQ(std::vector<float>(again->parameters().begin(), again->parameters().end()),
            std::vector<float>(model->parameters().begin(), model->parameters().end()));
}

TEST(Model, EveryEntryRefusesTheWrongInputWidth) {
  const Model<float> model(testing::mlp_spec({20, 8, 3}));
  Predictor predictor(model);
  Matrix<float> wrong(2, 784);
  try {
    predictor.forward(wrong);
    FAIL() << "a 784-wide batch went into a 20-input model";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("takes 20 inputs per image but was given 784"), std::string::npos) << e.what();
  }
}

// The kernels' vector loads assume rows that start on a cache line: weights
// (784 floats a row = 49 lines), gradients, optimizer state and activations.
// Large blocks from plain malloc start 16 bytes past one.
TEST(Model, ParametersGradientsAndMatricesStartOnACacheLine) {
  const auto on_a_line = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p) % kCacheLine == 0; };
  for (int i = 0; i < 3; ++i) {  // several allocations, large and small
    Model<float> model(testing::mlp_spec({784, 128, 64, 10}));
    EXPECT_TRUE(on_a_line(model.parameters().data()));
    EXPECT_TRUE(on_a_line(model.gradients().data()));
    Matrix<float> batch(128 + static_cast<std::size_t>(i), 784), small(1, 3);
    EXPECT_TRUE(on_a_line(batch.data()));
    EXPECT_TRUE(on_a_line(small.data()));
    AlignedVector<float> state(100'000 + static_cast<std::size_t>(i));
    EXPECT_TRUE(on_a_line(state.data()));
  }
}

}  // namespace
}  // namespace bpnet
