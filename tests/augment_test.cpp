// Distortions: known-value checks of each transform, the blur against its
// direct reference, and batches that are the same for any number of workers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "batch_loader.hpp"
#include "bpnet/augment.hpp"
#include "bpnet/error.hpp"
#include "kernels/gaussian_blur.hpp"
#include "test_support.hpp"

namespace bpnet {
namespace {

constexpr std::size_t kSide = 28;

// An asymmetric pattern of distinct values (so any misplacement shows):
// ink in a 6x4 block off the centre, plus a diagonal stroke.
std::vector<std::uint8_t> pattern() {
  std::vector<std::uint8_t> image(kSide * kSide, 0);
  for (std::size_t r = 5; r < 11; ++r) {
    for (std::size_t c = 7; c < 11; ++c) image[r * kSide + c] = static_cast<std::uint8_t>(100 + 10 * (r - 5) + c);
  }
  for (std::size_t i = 12; i < 24; ++i) image[i * kSide + i - 4] = static_cast<std::uint8_t>(20 * (i - 11));
  return image;
}

AugmentOptions only(AugmentKind kind) {
  AugmentOptions options;
  options.kind = kind;
  return options;
}

TEST(Distortions, NoDistortionGivesTheIdenticalImage) {
  const std::vector<std::uint8_t> image = pattern();
  AugmentOptions options = only(AugmentKind::both);
  options.rotate = options.scale = options.shear = options.translate = options.elastic_alpha = 0;
  Distorter distorter(options, kSide, kSide);
  std::vector<float> out(image.size());
  for (std::uint64_t index : {0u, 7u, 12345u}) {
    distorter.distort(image.data(), 3, 1, index, out.data());
    for (std::size_t i = 0; i < image.size(); ++i) ASSERT_EQ(out[i], static_cast<float>(image[i])) << i;
  }
}

TEST(Distortions, ElasticWithAlphaZeroIsTheIdentity) {
  const std::vector<std::uint8_t> image = pattern();
  AugmentOptions options = only(AugmentKind::elastic);
  options.elastic_alpha = 0;
  Distorter distorter(options, kSide, kSide);
  std::vector<float> out(image.size());
  distorter.distort(image.data(), 1, 0, 5, out.data());
  for (std::size_t i = 0; i < image.size(); ++i) ASSERT_EQ(out[i], static_cast<float>(image[i])) << i;
}

TEST(Distortions, WholePixelTranslationMovesTheInkExactly) {
  const std::vector<std::uint8_t> image = pattern();
  Distorter distorter(only(AugmentKind::affine), kSide, kSide);
  const AffineParams shift{.shift_x = 3, .shift_y = -2};
  std::vector<float> out(image.size());
  distorter.warp(image.data(), &shift, nullptr, nullptr, out.data());
  for (std::size_t r = 0; r < kSide; ++r) {
    for (std::size_t c = 0; c < kSide; ++c) {
      // Content moves right by 3 and up by 2; what enters from outside is background.
      const auto sr = static_cast<std::ptrdiff_t>(r) + 2, sc = static_cast<std::ptrdiff_t>(c) - 3;
      const bool inside = sr >= 0 && sr < static_cast<std::ptrdiff_t>(kSide) && sc >= 0;
      const float expected = inside ? image[static_cast<std::size_t>(sr) * kSide + static_cast<std::size_t>(sc)] : 0;
      ASSERT_EQ(out[r * kSide + c], expected) << r << "," << c;
    }
  }
}

TEST(Distortions, RotationBy90DegreesTurnsThePatternCounterClockwise) {
  const std::vector<std::uint8_t> image = pattern();
  Distorter distorter(only(AugmentKind::affine), kSide, kSide);
  const AffineParams turn{.rotate_degrees = 90};
  std::vector<float> out(image.size());
  distorter.warp(image.data(), &turn, nullptr, nullptr, out.data());
  // Counter-clockwise on screen: the top row becomes the left column, read upwards.
  for (std::size_t r = 0; r < kSide; ++r) {
    for (std::size_t c = 0; c < kSide; ++c) {
      ASSERT_NEAR(out[r * kSide + c], image[c * kSide + (kSide - 1 - r)], 1e-3) << r << "," << c;
    }
  }
  // A square centred on the image is its own rotation.
  std::vector<std::uint8_t> square(kSide * kSide, 0);
  for (std::size_t r = 10; r < 18; ++r) std::fill_n(square.begin() + static_cast<std::ptrdiff_t>(r * kSide + 10), 8, 200);
  distorter.warp(square.data(), &turn, nullptr, nullptr, out.data());
  for (std::size_t i = 0; i < square.size(); ++i) ASSERT_NEAR(out[i], square[i], 1e-3) << i;
}

TEST(Distortions, ScalingAboutTheCentreStretchesDistancesFromIt) {
  // One bright pixel 3.5 columns right of the centre lands 7 columns right when x doubles.
  std::vector<std::uint8_t> dot(kSide * kSide, 0);
  dot[14 * kSide + 17] = 255;  // x - 13.5 = 3.5
  Distorter distorter(only(AugmentKind::affine), kSide, kSide);
  const AffineParams wider{.scale_x = 2};
  std::vector<float> out(dot.size());
  distorter.warp(dot.data(), &wider, nullptr, nullptr, out.data());
  // The dot's centre moves to 13.5 + 7 = 20.5. Output column c samples
  // 13.5 + (c - 13.5) / 2: columns 19..22 read 16.25, 16.75, 17.25, 17.75,
  // a quarter, three quarters, three quarters and a quarter of the dot.
  EXPECT_NEAR(out[14 * kSide + 19], 63.75, 1e-3);
  EXPECT_NEAR(out[14 * kSide + 20], 191.25, 1e-3);
  EXPECT_NEAR(out[14 * kSide + 21], 191.25, 1e-3);
  EXPECT_NEAR(out[14 * kSide + 22], 63.75, 1e-3);
  // Twice as wide, twice the ink.
  EXPECT_NEAR(std::accumulate(out.begin(), out.end(), 0.0), 2 * 255.0, 1e-3);
}

TEST(Distortions, SeparableBlurMatchesTheDirectConvolution) {
  Rng rng(5);
  for (const auto& [rows, cols, sigma] : {std::tuple{28ul, 28ul, 4.0}, {20ul, 33ul, 1.5}, {7ul, 5ul, 6.0}}) {
    std::vector<float> field(rows * cols);
    for (float& v : field) v = static_cast<float>(rng.uniform(-1, 1));
    const std::vector<float> kernel = gaussian_kernel(sigma, std::max(rows, cols));
    EXPECT_NEAR(std::accumulate(kernel.begin(), kernel.end(), 0.0), 1.0, 1e-6);
    std::vector<float> scratch(blur_scratch_size(rows, cols, kernel.size())), fast(field.size()), direct(field.size());
    blur_separable(field.data(), rows, cols, kernel, scratch.data(), fast.data());
    blur_direct(field.data(), rows, cols, kernel, direct.data());
    double largest = 0;
    for (std::size_t i = 0; i < field.size(); ++i) {
      ASSERT_NEAR(fast[i], direct[i], 1e-5) << rows << "x" << cols << " [" << i << "]";
      largest = std::max(largest, std::abs(static_cast<double>(direct[i])));
    }
    EXPECT_GT(largest, 1e-3) << "the smoothed field is not trivially zero";
  }
}

TEST(Distortions, TheSameKeyGivesTheSameImageAndAnotherEpochAnotherOne) {
  const std::vector<std::uint8_t> image = pattern();
  Distorter first(only(AugmentKind::both), kSide, kSide), second(only(AugmentKind::both), kSide, kSide);
  std::vector<float> a(image.size()), b(image.size()), c(image.size());
  first.distort(image.data(), 9, 4, 17, a.data());
  second.distort(image.data(), 9, 4, 17, b.data());
  first.distort(image.data(), 9, 5, 17, c.data());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // Elastic fields of sigma 4 and alpha 34 move ink by about a pixel: the image changes but keeps its ink.
  const double ink = std::accumulate(image.begin(), image.end(), 0.0);
  EXPECT_NEAR(std::accumulate(a.begin(), a.end(), 0.0), ink, 0.5 * ink);
}

TEST(Distortions, OptionsOutOfRangeAreRefusedByName) {
  AugmentOptions options = only(AugmentKind::affine);
  options.rotate = 200;
  try {
    options.validate();
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--rotate"), std::string::npos) << e.what();
  }
  options = only(AugmentKind::elastic);
  options.elastic_sigma = 0;
  EXPECT_THROW(options.validate(), ConfigError);
  EXPECT_THROW(parse_augment("elastik"), ConfigError);
  EXPECT_EQ(parse_augment("both"), AugmentKind::both);
}

TEST(Distortions, BatchesAreTheSameForAnyNumberOfWorkers) {
  const Dataset data = [] {
    // 28x28 images so the distortions have room: the synthetic 4x5 pattern tiled.
    const testing::SyntheticSet set = testing::synthetic_set(40, kSide, kSide, 10, 3);
    Dataset d;
    d.count = 40;
    d.rows = d.cols = kSide;
    d.pixels = set.pixels;
    d.labels = set.labels;
    return d;
  }();
  std::vector<std::uint32_t> order(data.count);
  std::iota(order.begin(), order.end(), 0u);
  std::reverse(order.begin(), order.end());
  std::vector<std::vector<float>> reference;
  for (const int workers : {0, 1, 3}) {
    BatchLoader loader(data, Normalize::torch, 6, workers, only(AugmentKind::both), 21);
    std::vector<std::vector<float>> served;
    for (std::uint64_t epoch : {0u, 1u}) {
      loader.start_epoch(order, 0, epoch);
      for (std::size_t b = 0; b < loader.batches_in_epoch(); ++b) {
        const Batch batch = loader.next();
        served.emplace_back(batch.x.data, batch.x.data + batch.x.size());
      }
    }
    if (reference.empty()) {
      reference = served;
      // Epochs differ: the same images, distorted afresh.
      EXPECT_NE(reference.front(), reference[reference.size() / 2]);
    } else {
      EXPECT_EQ(served, reference) << "workers " << workers;
    }
  }
  // Resuming at batch 3 of epoch 1 serves exactly what an uninterrupted epoch served there.
  BatchLoader resumed(data, Normalize::torch, 6, 2, only(AugmentKind::both), 21);
  resumed.start_epoch(order, 3, 1);
  const Batch batch = resumed.next();
  EXPECT_EQ(std::vector<float>(batch.x.data, batch.x.data + batch.x.size()), reference[7 + 3]);
}

}  // namespace
}  // namespace bpnet
