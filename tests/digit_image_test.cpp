// Image decoding and MNIST-style preprocessing: real test digits re-rendered
// the way users' pictures look (large, off-centre, dark ink on uneven paper,
// other scales, blurred JPEG) must come back close to the original 28x28 and
// be classified as the originals are.
#include <gtest/gtest.h>
#include <turbojpeg.h>
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <memory>

#include "bpnet/digit_image.hpp"
#include "bpnet/error.hpp"
#include "bpnet/evaluate.hpp"
#include "bpnet/image.hpp"
#include "bpnet/loss.hpp"
#include "bpnet/model_file.hpp"
#include "bpnet/predictor.hpp"
#include "bpnet/preprocess.hpp"
#include "bpnet/presets.hpp"
#include "bpnet/random.hpp"
#include "bpnet/train.hpp"
#include "test_support.hpp"

namespace bpnet {
namespace {

// How a user's picture of MNIST test digit i might look.
struct Rendering {
  std::string kind;
  double scale;                    // pixels of the picture per MNIST pixel
  std::size_t rows, cols;          // the picture
  double top, left;                // where the 28x28 lands
  bool dark_on_light, blur, jpeg;
};

Rendering rendering(std::size_t i, Rng& rng) {
  switch (i % 5) {
    case 0: return {"large", 8, 224, 224, 0, 0, false, false, false};
    case 1: return {"off-centre", 5, 300, 300, rng.uniform(0, 160), rng.uniform(0, 160), false, false, false};
    case 2: return {"dark on uneven paper", 7, 220, 260, 12, 30, true, false, false};
    case 3: return {"small, wide canvas", 3, 120, 200, 20, rng.uniform(10, 110), true, false, false};
    default: return {"blurred JPEG photo", 6, 200, 200, 15, 10, true, true, true};
  }
}

GreyImage render(const Dataset& data, std::size_t index, const Rendering& how) {
  GreyImage out{how.rows, how.cols, std::vector<std::uint8_t>(how.rows * how.cols)};
  const std::uint8_t* src = data.image(index);
  std::vector<float> ink(how.rows * how.cols, 0.0f);
  for (std::size_t r = 0; r < how.rows; ++r) {
    for (std::size_t c = 0; c < how.cols; ++c) {
      // Bilinear sample of the 28x28 at this picture pixel's centre.
      const double y = (static_cast<double>(r) + 0.5 - how.top) / how.scale - 0.5;
      const double x = (static_cast<double>(c) + 0.5 - how.left) / how.scale - 0.5;
      if (y < -1 || x < -1 || y > 28 || x > 28) continue;
      const auto at = [&](long yy, long xx) {
        return yy < 0 || xx < 0 || yy > 27 || xx > 27 ? 0.0 : static_cast<double>(src[yy * 28 + xx]);
      };
      const long y0 = static_cast<long>(std::floor(y)), x0 = static_cast<long>(std::floor(x));
      const double fy = y - static_cast<double>(y0), fx = x - static_cast<double>(x0);
      ink[r * how.cols + c] = static_cast<float>((1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) +
                                                 fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1)));
    }
  }
  if (how.blur) {  // a 5x5 box blur: an out-of-focus photo
    std::vector<float> blurred(ink.size(), 0.0f);
    for (std::size_t r = 2; r + 2 < how.rows; ++r) {
      for (std::size_t c = 2; c + 2 < how.cols; ++c) {
        float sum = 0;
        for (std::size_t dy = 0; dy < 5; ++dy) {
          for (std::size_t dx = 0; dx < 5; ++dx) sum += ink[(r + dy - 2) * how.cols + c + dx - 2];
        }
        blurred[r * how.cols + c] = sum / 25;
      }
    }
    ink = blurred;
  }
  for (std::size_t r = 0; r < how.rows; ++r) {
    for (std::size_t c = 0; c < how.cols; ++c) {
      const float v = ink[r * how.cols + c];
      // Paper lit unevenly: 170 in one corner to 245 in the other; ink 40.
      const float paper = 170.0f + 75.0f * static_cast<float>(r + c) / static_cast<float>(how.rows + how.cols);
      const float grey = how.dark_on_light ? paper - (paper - 40.0f) * v / 255.0f : v;
      out.pixels[r * how.cols + c] = static_cast<std::uint8_t>(std::lround(std::clamp(grey, 0.0f, 255.0f)));
    }
  }
  return out;
}

std::vector<std::uint8_t> encode_jpeg(const GreyImage& image) {
  const auto handle = std::unique_ptr<void, int (*)(tjhandle)>(tjInitCompress(), tjDestroy);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  EXPECT_EQ(tjCompress2(handle.get(), image.pixels.data(), static_cast<int>(image.cols), 0, static_cast<int>(image.rows),
                        TJPF_GRAY, &buffer, &size, TJSAMP_GRAY, 75, 0),
            0);
  std::vector<std::uint8_t> bytes(buffer, buffer + size);
  tjFree(buffer);
  return bytes;
}

// Pearson correlation of two byte images.
double correlation(const std::uint8_t* a, const std::uint8_t* b, std::size_t n) {
  double ma = 0, mb = 0;
  for (std::size_t i = 0; i < n; ++i) ma += a[i], mb += b[i];
  ma /= static_cast<double>(n), mb /= static_cast<double>(n);
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    ab += (a[i] - ma) * (b[i] - mb), aa += (a[i] - ma) * (a[i] - ma), bb += (b[i] - mb) * (b[i] - mb);
  }
  return ab / std::sqrt(aa * bb);
}

TEST(DigitImage, ReRenderedTestDigitsComeBackAndAreClassifiedAsTheOriginals) {
  const auto dir = testing::mnist_dir_required_in_ci();
  if (dir.empty()) GTEST_SKIP() << "MNIST not fetched (scripts/fetch-mnist.sh)";
  const Dataset train = load_dataset(dir, Split::train);
  const Dataset test = load_dataset(dir, Split::test);
  // A model file to measure with (e.g. keras-seed's, for the README), else
  // two epochs of torch-seed trained here.
  std::unique_ptr<Model<float>> loaded;
  TrainConfig config = preset("torch-seed");
  config.epochs = 2;
  Trainer trainer(config, train);
  if (const char* file = std::getenv("BPNET_RECOGNITION_MODEL")) {
    loaded = load_model(file);
  } else {
    trainer.run_epoch();
    trainer.run_epoch();
  }
  const Model<float>& model = loaded ? *loaded : trainer.model();

  const std::size_t kDigits = std::getenv("BPNET_RECOGNITION_MODEL") ? 2000 : 500;
  Dataset originals = test, rendered = test;
  originals.count = rendered.count = kDigits;
  originals.pixels.resize(kDigits * 784);
  rendered.pixels.resize(kDigits * 784);
  Rng rng(3);
  std::map<std::string, std::pair<double, std::size_t>> similarity;  // kind -> (sum of correlations, count)
  for (std::size_t i = 0; i < kDigits; ++i) {
    const Rendering how = rendering(i, rng);
    const GreyImage picture = render(test, i, how);
    const std::vector<std::uint8_t> file = how.jpeg ? encode_jpeg(picture) : encode_png(picture);
    if (const char* keep = std::getenv("BPNET_RENDER_DIR")) {  // for measuring with `bpnet predict DIR`
      char name[64];
      std::snprintf(name, sizeof name, "/%05zu-label%d.%s", i, test.labels[i], how.jpeg ? "jpg" : "png");
      testing::write_bytes(std::string(keep) + name, file);
    }
    const DigitImage digit = mnist_style(decode_image(file, "digit"), 28, 28, "digit");
    EXPECT_EQ(digit.inverted, how.dark_on_light) << how.kind << " " << i;
    std::copy(digit.pixels.begin(), digit.pixels.end(), rendered.pixels.begin() + static_cast<std::ptrdiff_t>(i * 784));
    auto& [sum, count] = similarity[how.kind];
    sum += correlation(digit.pixels.data(), test.image(i), 784);
    ++count;
  }
  const double original_accuracy = evaluate(model, originals).accuracy;
  const double rendered_accuracy = evaluate(model, rendered).accuracy;
  for (const auto& [kind, entry] : similarity) {
    const double mean = entry.first / static_cast<double>(entry.second);
    std::printf("%-22s mean correlation with the original 28x28: %.3f\n", kind.c_str(), mean);
    EXPECT_GT(mean, 0.85) << kind;
  }
  std::printf("accuracy on %zu originals %.2f%%, on their re-renderings %.2f%%\n", kDigits, 100 * original_accuracy,
              100 * rendered_accuracy);
  EXPECT_GE(rendered_accuracy, original_accuracy - 0.015);
}

TEST(DigitImage, AnMnistDigitPassesThroughAlmostUnchanged) {
  // A 28x28 MNIST-like digit (light on dark, centred) is its own preprocessing.
  GreyImage image{28, 28, std::vector<std::uint8_t>(784, 0)};
  for (std::size_t r = 6; r < 22; ++r) {
    for (std::size_t c = 12; c < 16; ++c) image.pixels[r * 28 + c] = 255;  // a "1", 16 tall
  }
  const DigitImage digit = mnist_style(image, 28, 28, "one");
  EXPECT_FALSE(digit.inverted);
  std::size_t lit = 0, top = 28, bottom = 0;
  for (std::size_t r = 0; r < 28; ++r) {
    for (std::size_t c = 0; c < 28; ++c) {
      if (digit.pixels[r * 28 + c] > 127) ++lit, top = std::min(top, r), bottom = std::max(bottom, r);
    }
  }
  EXPECT_EQ(bottom - top + 1, 20u) << "the longer side becomes 20 pixels";
  // Centre of mass at row 14, as MNIST's: 20 rows centred there start at 4.5.
  EXPECT_NEAR(static_cast<double>(top), 4.5, 0.5);
  EXPECT_EQ(lit, 100u) << "4 wide x 16 tall scaled by 20/16: 5 x 20";
}

TEST(DigitImage, AreaAveragingKeepsTheMeanAndAveragesBlocks) {
  const std::vector<float> in{0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60};  // 4x4
  const std::vector<float> half = area_resample(in, 4, 4, 2, 2);
  EXPECT_EQ(half, (std::vector<float>{10, 18, 42, 50}));
  const std::vector<float> third = area_resample(in, 4, 4, 3, 3);
  double mean_in = 0, mean_out = 0;
  for (float v : in) mean_in += v / 16;
  for (float v : third) mean_out += v / 9;
  EXPECT_NEAR(mean_out, mean_in, 1e-4);
}

TEST(DigitImage, BlankAndNonImagesAreClearErrors) {
  const GreyImage white{100, 100, std::vector<std::uint8_t>(10000, 250)};
  EXPECT_THROW(mnist_style(white, 28, 28, "white.png"), DataError);
  try {
    mnist_style(white, 28, 28, "white.png");
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("white.png: no digit found"), std::string::npos) << e.what();
  }
  const std::vector<std::uint8_t> text{'h', 'e', 'l', 'l', 'o'};
  EXPECT_THROW(decode_image(text, "hello.txt"), DataError);
}

TEST(DigitImage, HeadersClaimingHugeImagesAreRefusedBeforeDecoding) {
  // A valid 1x1 PNG whose header is edited to claim 100000 x 100000 pixels.
  GreyImage one{1, 1, {0}};
  std::vector<std::uint8_t> png = encode_png(one);
  // IHDR width and height: bytes 16..23, big-endian.
  for (int i : {16, 20}) {
    png[i] = 0, png[i + 1] = 0x01, png[i + 2] = 0x86, png[i + 3] = 0xA0;  // 100000
  }
  // With its CRC (over type and data, bytes 12..28) recomputed, so that the
  // header is valid and only the size is wrong.
  const auto crc = static_cast<std::uint32_t>(crc32(0L, png.data() + 12, 17));
  for (int i = 0; i < 4; ++i) png[29 + i] = static_cast<std::uint8_t>(crc >> (24 - 8 * i));
  try {
    decode_image(png, "huge.png");
    FAIL() << "decoded a 100000x100000 claim";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("huge.png: the image is 100000x100000 pixels"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace bpnet

namespace bpnet {
namespace {

// A JPEG with an APP1 EXIF segment saying `orientation`, inserted after SOI.
std::vector<std::uint8_t> with_exif_orientation(std::vector<std::uint8_t> jpeg, std::uint8_t orientation) {
  const std::vector<std::uint8_t> app1{0xFF, 0xE1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0,  // APP1, length 34
                                       'M', 'M', 0x00, 0x2A, 0x00, 0x00, 0x00, 0x08,       // big-endian TIFF, IFD at 8
                                       0x00, 0x01,                                         // one entry:
                                       0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,     // Orientation, SHORT, 1
                                       0x00, orientation, 0x00, 0x00,                      // its value
                                       0x00, 0x00, 0x00, 0x00};                            // no next IFD
  jpeg.insert(jpeg.begin() + 2, app1.begin(), app1.end());
  return jpeg;
}

TEST(DigitImage, JpegExifOrientationTurnsPhotosUpright) {
  // Stored 30 wide, 20 tall, with a dark block in its top-left corner.
  GreyImage stored{20, 30, std::vector<std::uint8_t>(600, 255)};
  for (std::size_t r = 0; r < 8; ++r) {
    for (std::size_t c = 0; c < 8; ++c) stored.pixels[r * 30 + c] = 0;
  }
  const auto jpeg = encode_jpeg(stored);
  const GreyImage plain = decode_image(jpeg, "plain.jpg");
  EXPECT_EQ(plain.rows, 20u);
  EXPECT_LT(plain.pixels[2 * 30 + 2], 60);
  // 6: the viewer turns it 90 degrees clockwise; the corner goes to the top right.
  const GreyImage turned = decode_image(with_exif_orientation(jpeg, 6), "turned.jpg");
  ASSERT_EQ(turned.rows, 30u);
  ASSERT_EQ(turned.cols, 20u);
  EXPECT_LT(turned.pixels[2 * 20 + 17], 60);
  EXPECT_GT(turned.pixels[2 * 20 + 2], 200);
  // 3: turned 180 degrees; the corner goes to the bottom right.
  const GreyImage flipped = decode_image(with_exif_orientation(jpeg, 3), "flipped.jpg");
  ASSERT_EQ(flipped.rows, 20u);
  EXPECT_LT(flipped.pixels[17 * 30 + 27], 60);
}

}  // namespace
}  // namespace bpnet
