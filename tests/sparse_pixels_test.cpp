// The first layer on pixel bytes with the zero pixels skipped, against the
// packed GEMM of the same instruction set on the converted pixels (float
// for float) and against the reference loops; and where evaluation uses it.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <utility>
#include <vector>

#include "bpnet/dataset.hpp"
#include "bpnet/error.hpp"
#include "bpnet/model.hpp"
#include "bpnet/preprocess.hpp"
#include "bpnet/random.hpp"
#include "kernels/gemm.hpp"
#include "kernels/packed_gemm.hpp"
#include "kernels/sparse_pixels.hpp"
#include "pixel_first_layer.hpp"
#include "test_support.hpp"

namespace bpnet {
namespace {

struct Case {
  std::size_t rows, in, out;
};

// Bytes, each nonzero (1-255) with probability `share`.
std::vector<std::uint8_t> random_pixels(std::size_t n, double share, Rng& rng) {
  std::vector<std::uint8_t> pixels(n);
  for (auto& p : pixels) p = rng.uniform(0, 1) < share ? static_cast<std::uint8_t>(1 + rng.below(255)) : 0;
  return pixels;
}

TEST(SparsePixels, EveryInstructionSetGivesThePackedProductsFloats) {
  Rng rng(11);
  int checked = 0;
  for (const Isa isa : kEveryIsa) {
    if (!cpu_runs(isa) || !sparse_pixel_product_runs(isa)) continue;
    // Several K slices and a partial one; outputs under, at and past a block
    // of registers; groups of images cut short; a lone input and output.
    for (const Case c : {Case{245, 784, 128}, Case{37, 784, 10}, Case{17, 300, 200}, Case{5, 64, 16},
                         Case{33, 513, 130}, Case{16, 1, 1}}) {
      std::vector<float> w(c.out * c.in), b(c.out);
      for (float& v : w) v = static_cast<float>(rng.uniform(-1, 1));
      for (float& v : b) v = static_cast<float>(rng.uniform(-1, 1));
      const PixelMajorWeights pixel_major(isa, w.data(), b.data(), c.out, c.in);
      for (const double share : {0.0, 0.2, 1.0}) {
        // Exactly the image bytes: a read past them is an error under ASan.
        const std::vector<std::uint8_t> pixels = random_pixels(c.rows * c.in, share, rng);
        const float scale = 1.0f / 255.0f;
        std::vector<float> x(pixels.size());
        for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(pixels[i]) * scale;
        for (const bool relu : {false, true}) {
          std::vector<float> dense(c.rows * c.out), reference(c.rows * c.out);
          gemm_packed(isa, {Transpose::no, Transpose::yes, c.rows, c.out, c.in}, 1.0f, x.data(), c.in, w.data(),
                      c.in, 1.0f, dense.data(), c.out, nullptr, b.data(), {relu ? Finish::relu : Finish::none});
          for (std::size_t r = 0; r < c.rows; ++r) std::copy(b.begin(), b.end(), reference.begin() + r * c.out);
          gemm_reference<float>({Transpose::no, Transpose::yes, c.rows, c.out, c.in}, 1.0f, x.data(), c.in,
                                w.data(), c.in, 1.0f, reference.data(), c.out);
          const std::size_t ldy = c.out + 3;  // rows of y apart from each other
          std::vector<float> y(c.rows * ldy, -7.0f);
          sparse_pixel_product(pixel_major, pixels.data(), c.rows, scale, relu, y.data(), ldy);
          for (std::size_t r = 0; r < c.rows; ++r) {
            for (std::size_t j = 0; j < c.out; ++j) {
              const float got = y[r * ldy + j];
              ASSERT_EQ(std::bit_cast<std::uint32_t>(got), std::bit_cast<std::uint32_t>(dense[r * c.out + j]))
                  << isa_name(isa) << " " << c.rows << "x" << c.in << "->" << c.out << " share " << share
                  << " relu " << relu << " at " << r << "," << j << ": " << got << " vs " << dense[r * c.out + j];
              const float expected = relu ? std::max(reference[r * c.out + j], 0.0f) : reference[r * c.out + j];
              EXPECT_NEAR(got, expected, 1e-4f * (1.0f + static_cast<float>(c.in) / 64.0f));
            }
            for (std::size_t j = c.out; j < ldy; ++j) ASSERT_EQ(y[r * ldy + j], -7.0f) << "written past the row";
          }
          ++checked;
        }
      }
    }
  }
  if (checked == 0) GTEST_SKIP() << "this CPU runs neither AVX2 nor AVX-512";
}

TEST(SparsePixels, NonzeroShareCountsTheBytesThatAreNot0) {
  const std::vector<std::uint8_t> bytes = {0, 3, 0, 0, 255, 0, 0, 1};
  EXPECT_DOUBLE_EQ(nonzero_share(bytes.data(), bytes.size()), 3.0 / 8.0);
  EXPECT_DOUBLE_EQ(nonzero_share(bytes.data(), 1), 0.0);
  EXPECT_DOUBLE_EQ(nonzero_share(bytes.data(), 0), 0.0);
}

// Restores BPNET_DENSE_PIXELS as it was.
class DensePixelsSetting {
 public:
  explicit DensePixelsSetting(const char* value) {
    if (const char* old = std::getenv("BPNET_DENSE_PIXELS")) old_ = old;
    if (value == nullptr) {
      ::unsetenv("BPNET_DENSE_PIXELS");
    } else {
      ::setenv("BPNET_DENSE_PIXELS", value, 1);
    }
  }
  ~DensePixelsSetting() {
    if (old_.empty()) {
      ::unsetenv("BPNET_DENSE_PIXELS");
    } else {
      ::setenv("BPNET_DENSE_PIXELS", old_.c_str(), 1);
    }
  }

 private:
  std::string old_;
};

// A data set of `n` 28x28 images, each pixel nonzero with probability `share`.
Dataset images(std::size_t n, double share, Rng& rng) {
  Dataset data;
  data.name = "synthetic";
  data.count = n;
  data.rows = data.cols = 28;
  data.pixels = random_pixels(n * 784, share, rng);
  data.labels.assign(n, 0);
  return data;
}

TEST(PixelFirstLayer, AppliesWhereTheCpuRunsTheKernelAndTheImagesAreSparse) {
  if (!sparse_pixel_product_runs(widest_isa())) GTEST_SKIP() << "this CPU runs neither AVX2 nor AVX-512";
  const DensePixelsSetting unset(nullptr);
  ModelSpec spec = testing::mlp_spec({784, 40, 10});  // Linear, ReLU, Linear, LogSoftmax; pixels to [0, 1]
  const Model<float> unit(spec);
  Rng rng(3);
  const Dataset sparse = images(20, 0.2, rng), dense = images(20, 0.9, rng);
  const auto first = PixelFirstLayer::for_data(unit, unit.depth(), sparse);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->layers_done(), 2u);  // the ReLU with it
  EXPECT_EQ(PixelFirstLayer::for_data(unit, 2, sparse), nullptr) << "nothing would be left for forward_from";
  EXPECT_EQ(PixelFirstLayer::for_data(unit, unit.depth(), dense), nullptr) << "W laid out for nothing";
  EXPECT_TRUE(first->runs_for(5));
  EXPECT_FALSE(first->runs_for(4)) << "a few rows sum in the few-rows kernel's order";
  EXPECT_EQ(PixelFirstLayer::for_data(unit, unit.depth(), images(4, 0.2, rng)), nullptr);

  spec.normalize = Normalize::torch;  // pixel 0 is -1: the -1 goes into the bias
  EXPECT_NE(PixelFirstLayer::for_data(Model<float>(spec), 4, sparse), nullptr);
  const DensePixelsSetting dense_only("1");
  EXPECT_EQ(PixelFirstLayer::for_data(unit, unit.depth(), sparse), nullptr);
}

// The first layers from the pixel bytes against the model's own forward on
// the converted pixels: the same floats for pixels in [0, 1], near them for
// torch's [-1, 1] (pixel 0's -1 moved into the bias).
TEST(PixelFirstLayer, GivesTheForwardsFloatsOrForTorchsPixelsNearThem) {
  if (!sparse_pixel_product_runs(widest_isa())) GTEST_SKIP() << "this CPU runs neither AVX2 nor AVX-512";
  const DensePixelsSetting unset(nullptr);
  Rng rng(12);
  const Dataset data = images(40, 0.2, rng);
  for (const Normalize normalize : {Normalize::unit, Normalize::torch}) {
    ModelSpec spec = testing::mlp_spec({784, 40, 10});
    spec.normalize = normalize;
    Model<float> model(spec);
    model.initialize(Init::torch, rng);
    const auto first = PixelFirstLayer::for_data(model, model.depth(), data);
    ASSERT_NE(first, nullptr);
    Matrix<float> skipped;
    first->run(data.pixels.data(), data.count, skipped);
    Matrix<float> x(data.count, 784);
    const PixelScale pixels = pixel_scale(normalize);
    for (std::size_t i = 0; i < x.rows() * x.cols(); ++i) x.data()[i] = pixels(data.pixels[i]);
    Workspace<float> ws;
    const ConstMatrixView<float> dense = model.forward(ws, x, first->layers_done());
    ASSERT_EQ(dense.rows * dense.cols, skipped.rows() * skipped.cols());
    float largest = 0, furthest = 0;
    for (std::size_t i = 0; i < dense.rows * dense.cols; ++i) {
      largest = std::max(largest, std::abs(dense.data[i]));
      furthest = std::max(furthest, std::abs(skipped.data()[i] - dense.data[i]));
    }
    ASSERT_GT(largest, 0.1f);
    if (normalize == Normalize::unit) {
      EXPECT_EQ(furthest, 0.0f) << "the same floats";
    } else {
      EXPECT_GT(furthest, 0.0f) << "other floats: the sum of pixel * scale, the -1 in the bias";
      EXPECT_LT(furthest, 1e-6f * largest);
    }
  }
}

// One training step's outputs and gradient of a 784-128-10 model on 64
// random images, 20% of their pixels nonzero, normalised as asked, with or
// without BPNET_DENSE_PIXELS=1.
struct StepResult {
  std::vector<float> out, gradient;
};
std::pair<StepResult, StepResult> skipping_and_dense_steps(Normalize normalize, std::uint64_t seed) {
  ModelSpec spec = testing::mlp_spec({784, 128, 10});
  spec.normalize = normalize;
  Model<float> model(spec);
  Rng rng(seed);
  model.initialize(Init::torch, rng);
  Matrix<float> x(64, 784), d_out(64, 10);
  const std::vector<std::uint8_t> pixels = random_pixels(64 * 784, 0.2, rng);
  const PixelScale scale = pixel_scale(normalize);
  for (std::size_t i = 0; i < pixels.size(); ++i) x.data()[i] = scale(pixels[i]);
  for (std::size_t i = 0; i < 64 * 10; ++i) d_out.data()[i] = static_cast<float>(rng.uniform(-1, 1));
  auto train_step = [&](const char* dense_setting) {
    const DensePixelsSetting setting(dense_setting);
    Workspace<float> ws;
    const ConstMatrixView<float> y = model.forward_train(ws, x, model.depth(), {1, 2, 0});
    StepResult result{{y.data, y.data + y.rows * y.cols}, std::vector<float>(model.parameters().size(), 9.0f)};
    model.backward(ws, x, d_out, result.gradient, GradientWrite::overwrite);
    return result;
  };
  StepResult skipping = train_step(nullptr);
  return {std::move(skipping), train_step("1")};
}

// Training's first Linear skips its input's zeros (kernels/mostly_zero_input.hpp):
// the same outputs and gradient, float for float, as the dense products.
TEST(Model, TrainingOnMostlyZeroPixelsGivesTheDenseProductsFloats) {
  const auto [skipping, dense] = skipping_and_dense_steps(Normalize::unit, 5);
  EXPECT_EQ(skipping.out, dense.out);
  EXPECT_EQ(skipping.gradient, dense.gradient);
  EXPECT_NE(dense.gradient[0], 9.0f) << "the gradient was written";
}

// torch's pixels: the -1 taken out of x, the products near the dense ones.
TEST(Model, TrainingOnTorchPixelsTakesOutTheirBackgroundNearTheDenseProducts) {
  const auto [skipping, dense] = skipping_and_dense_steps(Normalize::torch, 6);
  ASSERT_EQ(skipping.gradient.size(), dense.gradient.size());
  EXPECT_NE(skipping.gradient, dense.gradient) << "the floats of x - (-1), not the dense products'";
  // Both are float sums of the same terms: near each other against the largest of them.
  auto largest = [](const std::vector<float>& v) {
    return std::abs(*std::max_element(v.begin(), v.end(), [](float a, float b) { return std::abs(a) < std::abs(b); }));
  };
  const float out_scale = largest(dense.out), gradient_scale = largest(dense.gradient);
  for (std::size_t i = 0; i < dense.out.size(); ++i) {
    ASSERT_NEAR(skipping.out[i], dense.out[i], 1e-6 * out_scale) << "output " << i;
  }
  for (std::size_t i = 0; i < dense.gradient.size(); ++i) {
    ASSERT_NEAR(skipping.gradient[i], dense.gradient[i], 1e-6 * gradient_scale) << "gradient " << i;
  }
}

TEST(Model, ForwardFromALayerGoesOnFromItsInput) {
  const ModelSpec spec = testing::mlp_spec({30, 12, 10});
  Model<float> model(spec);
  Rng rng(8);
  model.initialize(Init::torch, rng);
  Matrix<float> x(9, 30);
  for (std::size_t i = 0; i < 9 * 30; ++i) x.data()[i] = static_cast<float>(rng.uniform(0, 1));
  Workspace<float> ws;
  const ConstMatrixView<float> hidden = model.forward(ws, x, 2);  // Linear + ReLU
  Matrix<float> first(9, 12);
  std::copy_n(hidden.data, 9 * 12, first.data());
  const ConstMatrixView<float> tail = model.forward_from(ws, first, 2, model.depth());
  const std::vector<float> from_middle(tail.data, tail.data + tail.rows * tail.cols);
  const ConstMatrixView<float> whole = model.forward(ws, x);
  EXPECT_EQ(from_middle, std::vector<float>(whole.data, whole.data + whole.rows * whole.cols));
  EXPECT_THROW(model.forward_from(ws, x, 2, model.depth()), ConfigError) << "30 values where layer 3 takes 12";
  EXPECT_THROW(model.forward_from(ws, first, 2, 2), ConfigError) << "no layer to run";
}

}  // namespace
}  // namespace bpnet
