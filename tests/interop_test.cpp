// ONNX export and import, and the C export: round trips that must be exact,
// PyTorch's own ONNX files (tests/fixtures/onnx, written by
// tools/reference/torch_onnx_fixtures.py) against PyTorch's outputs, files
// bpnet must refuse, and the C file compiled and run by the system compiler.
// The export run by an independent runtime is tests/node/onnx_runtime.test.mjs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bpnet/c_export.hpp"
#include "bpnet/error.hpp"
#include "bpnet/evaluate.hpp"
#include "bpnet/loss.hpp"
#include "bpnet/onnx.hpp"
#include "bpnet/predictor.hpp"
#include "bpnet/preprocess.hpp"
#include "bpnet/presets.hpp"
#include "bpnet/random.hpp"
#include "bpnet/train.hpp"
#include "test_support.hpp"

namespace bpnet {
namespace {

const std::filesystem::path kFixtures = BPNET_SOURCE_DIR "/tests/fixtures/onnx";

// Every layer type, with batch-norm statistics that are not the defaults.
std::unique_ptr<Model<float>> every_layer_model(const std::string& last) {
  ModelSpec spec;
  spec.inputs = 20;
  spec.image_rows = 4;
  spec.image_cols = 5;
  spec.normalize = Normalize::unit;
  spec.layers = {{"Linear", {{"out", 12}}}, {"BatchNorm1d", {{"eps", 1e-5}, {"momentum", 0.1}}}, {"ReLU", {}},
                 {"Dropout", {{"p", 0.3}}}, {"Linear", {{"out", 10}}}, {"LeakyReLU", {{"slope", 0.2}}},
                 {"Linear", {{"out", 9}}},  {"GELU", {}},           {"Linear", {{"out", 8}}},
                 {"Sigmoid", {}},           {"Linear", {{"out", 7}}}, {"Tanh", {}},
                 {"Linear", {{"out", 6}}}};
  if (!last.empty()) spec.layers.push_back({last, {}});
  spec.loss = last == "LogSoftmax" ? LossKind::nll : LossKind::cross_entropy;
  auto model = std::make_unique<Model<float>>(spec);
  Rng rng(5);
  model->initialize(Init::torch, rng);
  for (float& b : model->buffers()) b = static_cast<float>(rng.uniform(0.5, 1.5));  // means and variances
  for (float& p : model->parameters()) p *= 2.0f;  // so that every activation sees values far from zero
  return model;
}

Matrix<float> random_inputs(std::size_t rows, std::size_t cols, std::uint64_t seed) {
  Matrix<float> x(rows, cols);
  Rng rng(seed);
  for (float& v : std::span(x.data(), rows * cols)) v = static_cast<float>(rng.uniform(-1, 1));
  return x;
}

std::span<const std::uint8_t> as_bytes(const std::string& s) {
  return std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

std::vector<float> outputs(const Model<float>& model, const Matrix<float>& x) {
  Predictor predictor(model);
  const ConstMatrixView<float> out = predictor.forward(x);
  return std::vector<float>(out.data, out.data + out.rows * out.cols);
}

TEST(OnnxExport, RoundTripIsExactForEveryLayerType) {
  for (const std::string last : {"LogSoftmax", "Softmax", ""}) {
    const auto model = every_layer_model(last);
    const std::string bytes = encode_onnx(*model, {});
    const auto back = decode_onnx(as_bytes(bytes), "every.onnx", {});
    SCOPED_TRACE(model->spec().describe());
    // Dropout is left out of the file, and nothing else changes.
    ModelSpec expected = model->spec();
    std::erase_if(expected.layers, [](const LayerSpec& l) { return l.type == "Dropout"; });
    expected.loss = back->spec().loss;
    EXPECT_EQ(back->spec(), expected);
    EXPECT_EQ(testing::values(back->parameters()), testing::values(model->parameters()));
    EXPECT_EQ(testing::values(back->buffers()), testing::values(model->buffers()));
    const Matrix<float> x = random_inputs(7, 20, 3);
    EXPECT_EQ(outputs(*back, x), outputs(*model, x));
  }
}

TEST(OnnxExport, RawPixelFilesSayWhatTheyTakeAndAreNotImportedByMistake) {
  const auto model = every_layer_model("Softmax");
  const std::string bytes = encode_onnx(*model, {.raw_pixels = true});
  EXPECT_NE(bytes.find("raw pixels 0..255"), std::string::npos);
  try {
    decode_onnx(as_bytes(bytes), "raw.onnx", {});
    FAIL() << "a raw-pixel file was imported";
  } catch (const ModelFileError& e) {
    EXPECT_NE(std::string(e.what()).find("--raw-pixels"), std::string::npos) << e.what();
  }
}

nlohmann::json expected_outputs() {
  std::ifstream in(kFixtures / "expected.json");
  return nlohmann::json::parse(in);
}

TEST(OnnxImport, PyTorchExportsAtEveryOpsetGivePyTorchsOutputs) {
  const nlohmann::json expected = expected_outputs();
  for (const std::string name : {"layers_opset9.onnx", "layers_opset11.onnx", "layers_opset13.onnx",
                                 "layers_opset17.onnx", "matmul_softmax.onnx"}) {
    SCOPED_TRACE(name);
    const auto model = import_onnx(kFixtures / name, {.normalize = Normalize::torch});
    const auto& input = expected[name]["input"];
    const auto& output = expected[name]["output"];
    Matrix<float> x(input.size(), model->inputs());
    for (std::size_t r = 0; r < input.size(); ++r) {
      for (std::size_t c = 0; c < model->inputs(); ++c) x(r, c) = input[r][c].get<float>();
    }
    const std::vector<float> got = outputs(*model, x);
    ASSERT_EQ(got.size(), input.size() * model->classes());
    for (std::size_t r = 0; r < input.size(); ++r) {
      for (std::size_t c = 0; c < model->classes(); ++c) {
        EXPECT_NEAR(got[r * model->classes() + c], output[r][c].get<double>(), 1e-5) << "row " << r << " class " << c;
      }
    }
  }
}

TEST(OnnxImport, ImageShapeAndBatchNormAttributesComeAcross) {
  const auto model = import_onnx(kFixtures / "layers_opset13.onnx", {.normalize = Normalize::unit});
  EXPECT_EQ(model->spec().image_rows, 4u);
  EXPECT_EQ(model->spec().image_cols, 4u);
  EXPECT_EQ(model->spec().normalize, Normalize::unit);
  const LayerSpec& bn = model->spec().layers[1];
  ASSERT_EQ(bn.type, "BatchNorm1d");
  EXPECT_EQ(bn.attributes.at("eps"), 1e-5);
  EXPECT_EQ(bn.attributes.at("momentum"), 0.1);  // PyTorch's, from ONNX's 0.9
  EXPECT_EQ(model->spec().layers[4].attributes.at("slope"), 0.1);
  EXPECT_EQ(model->spec().loss, LossKind::nll);
}

void expect_refused(const std::filesystem::path& file, const std::string& fragment, const OnnxImportOptions& options) {
  try {
    import_onnx(file, options);
    ADD_FAILURE() << file << " was imported";
  } catch (const ModelFileError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(file.filename().string()), std::string::npos) << e.what();
  }
}

TEST(OnnxImport, RefusesWhatItCannotTakeNamingTheNodeAndOp) {
  expect_refused(kFixtures / "conv.onnx", "node 1 '/0/Conv' (Conv): Conv is not an MLP layer", {.normalize = Normalize::unit});
  expect_refused(kFixtures / "mnist_mlp.onnx", "pass --normalize", {});
  const testing::ScratchDir dir;
  testing::write_bytes(dir / "garbage.onnx", {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01});
  expect_refused(dir / "garbage.onnx", "not an ONNX model", {.normalize = Normalize::unit});
  // Truncated in the middle of the weights.
  const testing::Bytes whole = testing::read_bytes(kFixtures / "mnist_mlp.onnx");
  testing::write_bytes(dir / "truncated.onnx", testing::Bytes(whole.begin(), whole.begin() + 50000));
  expect_refused(dir / "truncated.onnx", "truncated.onnx", {.normalize = Normalize::unit});
}

TEST(OnnxImport, RefusesAGemmWhoseWeightIsNotAConstant) {
  const auto model = every_layer_model("Softmax");
  std::string bytes = encode_onnx(*model, {});
  const std::string marker = "layer4.weight";
  ASSERT_NE(bytes.find(marker), std::string::npos);
  // Flip the initializer's name so the Gemm reads a missing constant.
  bytes.replace(bytes.find(marker), marker.size(), "layer4.weighT");
  try {
    decode_onnx(as_bytes(bytes), "renamed.onnx", {});
    FAIL() << "imported a Gemm whose weight is missing";
  } catch (const ModelFileError& e) {
    EXPECT_NE(std::string(e.what()).find("is not a constant"), std::string::npos) << e.what();
  }
}

TEST(OnnxImport, APyTorchTrainedMlpGivesPyTorchsTestAccuracyExactly) {
  const auto dir = testing::mnist_dir_required_in_ci();
  if (dir.empty()) GTEST_SKIP() << "MNIST not fetched (scripts/fetch-mnist.sh)";
  const auto model = import_onnx(kFixtures / "mnist_mlp.onnx", {.normalize = Normalize::torch});
  const Evaluation result = evaluate(*model, load_dataset(dir, Split::test));
  const std::size_t pytorch_correct = expected_outputs()["mnist_mlp.onnx"]["pytorch_test_correct"];
  EXPECT_EQ(std::lround(result.accuracy * 10000), static_cast<long>(pytorch_correct));
}

// Compiles `source` with the C driver (tests/c_export/driver.c) and runs it
// on an IDX images file; returns one line per image: class, probabilities.
std::vector<std::vector<double>> run_c_export(const std::string& source, const Model<float>& model,
                                              const std::filesystem::path& images) {
  const testing::ScratchDir dir;
  {
    std::ofstream(dir / "model.c") << source;
  }
  const std::string compile = "cc -std=c99 -Wall -Wextra -Werror -pedantic -O2 -DBPNET_TEST_INPUTS=" +
                              std::to_string(model.inputs()) + " -DBPNET_TEST_CLASSES=" +
                              std::to_string(model.classes()) + " " + (dir / "model.c").string() + " " +
                              BPNET_SOURCE_DIR "/tests/c_export/driver.c -lm -o " + (dir / "predict").string() +
                              " 2>" + (dir / "cc.log").string();
  if (std::system(compile.c_str()) != 0) {
    std::stringstream log;
    log << std::ifstream(dir / "cc.log").rdbuf();
    ADD_FAILURE() << "the C export does not compile warning-free:\n" << log.str();
    return {};
  }
  const std::string run = (dir / "predict").string() + " " + images.string() + " >" + (dir / "out.txt").string();
  EXPECT_EQ(std::system(run.c_str()), 0);
  std::vector<std::vector<double>> lines;
  std::ifstream in(dir / "out.txt");
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::vector<double> values;
    for (double v; fields >> v;) values.push_back(v);
    lines.push_back(std::move(values));
  }
  return lines;
}

// Runs the C export of `model` on `data` and compares it with bpnet image
// by image; returns how many predictions agree.
std::size_t agreeing_predictions(const Model<float>& model, const Dataset& data, const std::filesystem::path& images) {
  const auto lines = run_c_export(c_source(model, "test"), model, images);
  EXPECT_EQ(lines.size(), data.count);
  if (lines.size() != data.count) return 0;
  std::vector<std::uint32_t> all(data.count);
  for (std::size_t i = 0; i < data.count; ++i) all[i] = static_cast<std::uint32_t>(i);
  Matrix<float> x(data.count, data.features());
  std::vector<std::uint8_t> labels(data.count);
  gather_batch(data, all, pixel_scale(model.spec().normalize), x, labels);
  Predictor predictor(model);
  const ConstMatrixView<float> out = predictor.forward(x);
  std::size_t agree = 0;
  double worst = 0;
  for (std::size_t i = 0; i < data.count; ++i) {
    agree += lines[i][0] == static_cast<double>(argmax(out.row(i), model.classes()));
    const auto p = probabilities(out.row(i), model.classes(), model.output_kind());
    for (std::size_t c = 0; c < model.classes(); ++c) worst = std::max(worst, std::abs(lines[i][c + 1] - p[c]));
  }
  EXPECT_LT(worst, 1e-5) << "largest probability difference between the C file and bpnet";
  return agree;
}

TEST(CExport, CompilesWarningFreeAndAgreesWithBpnetForEveryLayerType) {
  const testing::ScratchDir dir;
  testing::write_synthetic_split_files(dir.path(), 10, 300, 4, 5);
  const Dataset data = load_dataset(dir.path(), Split::test);
  for (const std::string last : {"LogSoftmax", "Softmax", ""}) {
    const auto model = every_layer_model(last);
    SCOPED_TRACE(model->spec().describe());
    EXPECT_EQ(agreeing_predictions(*model, data, dir / "t10k-images-idx3-ubyte"), data.count);
  }
}

TEST(CExport, AgreesWithBpnetOnAllTenThousandMnistTestImages) {
  const auto dir = testing::mnist_dir_required_in_ci();
  if (dir.empty()) GTEST_SKIP() << "MNIST not fetched (scripts/fetch-mnist.sh)";
  TrainConfig config = preset("torch-seed");
  const Dataset train = load_dataset(dir, Split::train);
  Trainer trainer(config, train);
  trainer.run_epoch();
  const Dataset test = load_dataset(dir, Split::test);
  EXPECT_EQ(agreeing_predictions(trainer.model(), test, dir / "t10k-images-idx3-ubyte"), 10000u);
}

}  // namespace
}  // namespace bpnet
