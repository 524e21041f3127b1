// The IDX reader against valid files and at least a dozen malformed ones,
// each expecting its own specific error (file name, offset, problem).
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <zlib.h>

#include "bpnet/dataset.hpp"
#include "bpnet/error.hpp"
#include "bpnet/idx.hpp"
#include "test_support.hpp"

namespace bpnet {
namespace {

using testing::Bytes;
using testing::idx_bytes;
using testing::ScratchDir;
using testing::write_bytes;
using testing::write_gzip;

const Bytes kPixels{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};  // 3 images of 2x2

// Expects read_idx(path, rank) to fail with a message containing each of `parts`.
void expect_idx_error(const std::filesystem::path& path, std::size_t rank,
                      const std::vector<std::string>& parts) {
  try {
    read_idx(path, rank);
    FAIL() << "no error for " << path;
  } catch (const DataError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    for (const auto& part : parts) EXPECT_NE(message.find(part), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "error must be one line: " << message;
  }
}

TEST(Idx, ReadsRawFile) {
  ScratchDir dir;
  write_bytes(dir / "a", idx_bytes({3, 2, 2}, kPixels));
  const IdxArray array = read_idx(dir / "a", 3);
  EXPECT_EQ(array.dims, (std::vector<std::uint32_t>{3, 2, 2}));
  EXPECT_EQ(array.values, kPixels);
}

TEST(Idx, ReadsGzipFileByContentNotName) {
  ScratchDir dir;
  write_gzip(dir / "compressed-without-suffix", idx_bytes({3, 2, 2}, kPixels));
  const IdxArray array = read_idx(dir / "compressed-without-suffix", 3);
  EXPECT_EQ(array.dims, (std::vector<std::uint32_t>{3, 2, 2}));
  EXPECT_EQ(array.values, kPixels);
}

TEST(Idx, BigEndianDimensions) {
  ScratchDir dir;
  Bytes values(300, 7);
  write_bytes(dir / "a", idx_bytes({300}, values));
  EXPECT_EQ(read_idx(dir / "a", 1).dims[0], 300u);
}

TEST(IdxMalformed, EmptyFile) {
  ScratchDir dir;
  write_bytes(dir / "f", {});
  expect_idx_error(dir / "f", 3, {"at byte 0", "4-byte header", "after 0 bytes"});
}

TEST(IdxMalformed, WrongMagic) {
  ScratchDir dir;
  Bytes bytes = idx_bytes({3, 2, 2}, kPixels);
  bytes[0] = 0x50;  // e.g. a PNG or text file
  write_bytes(dir / "f", bytes);
  expect_idx_error(dir / "f", 3, {"at byte 0", "IDX magic 00 00", "found 50 00"});
}

TEST(IdxMalformed, FloatTypeCode) {
  ScratchDir dir;
  Bytes bytes = idx_bytes({3, 2, 2}, kPixels);
  bytes[2] = 0x0D;
  write_bytes(dir / "f", bytes);
  expect_idx_error(dir / "f", 3, {"at byte 2", "type code 0x08", "0x0d (float32)"});
}

TEST(IdxMalformed, WrongRank) {
  ScratchDir dir;
  write_bytes(dir / "f", idx_bytes({12}, kPixels));  // a labels file where images belong
  expect_idx_error(dir / "f", 3, {"at byte 3", "expected 3 dimensions", "found 1"});
}

TEST(IdxMalformed, TruncatedHeader) {
  ScratchDir dir;
  Bytes bytes = idx_bytes({3, 2, 2}, kPixels);
  bytes.resize(9);
  write_bytes(dir / "f", bytes);
  expect_idx_error(dir / "f", 3, {"at byte 9", "16-byte header", "after 9 bytes"});
}

TEST(IdxMalformed, ZeroDimension) {
  ScratchDir dir;
  write_bytes(dir / "f", idx_bytes({3, 0, 2}, {}));
  expect_idx_error(dir / "f", 3, {"at byte 8", "dimension 1 >= 1", "found 0"});
}

TEST(IdxMalformed, TruncatedPayload) {
  ScratchDir dir;
  Bytes bytes = idx_bytes({3, 2, 2}, kPixels);
  bytes.resize(bytes.size() - 5);
  write_bytes(dir / "f", bytes);
  expect_idx_error(dir / "f", 3, {"at byte 23", "28 bytes in all", "truncated, 5 bytes missing"});
}

TEST(IdxMalformed, TrailingBytes) {
  ScratchDir dir;
  Bytes bytes = idx_bytes({3, 2, 2}, kPixels);
  bytes.push_back(0);
  bytes.push_back(0);
  write_bytes(dir / "f", bytes);
  expect_idx_error(dir / "f", 3, {"at byte 28", "2 trailing bytes"});
}

TEST(IdxMalformed, HeaderClaimsAbsurdSizeWithoutAllocating) {
  ScratchDir dir;
  write_bytes(dir / "f", idx_bytes({0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, kPixels));
  // 2^96 bytes could never be allocated; the reader must reject it from the header.
  expect_idx_error(dir / "f", 3, {"at byte 8", "header claims over"});
}

TEST(IdxMalformed, HeaderClaimsMoreThanTheFileHolds) {
  ScratchDir dir;
  write_bytes(dir / "f", idx_bytes({60000, 28, 28}, kPixels));
  expect_idx_error(dir / "f", 3, {"47040016 bytes in all", "truncated"});
}

TEST(IdxMalformed, CorruptGzip) {
  ScratchDir dir;
  write_gzip(dir / "f.gz", idx_bytes({3, 2, 2}, kPixels));
  Bytes bytes = testing::read_bytes(dir / "f.gz");
  for (std::size_t i = 12; i < bytes.size() - 8; ++i) bytes[i] ^= 0x5A;
  write_bytes(dir / "f.gz", bytes);
  expect_idx_error(dir / "f.gz", 3, {"corrupt gzip data"});
}

TEST(IdxMalformed, TruncatedGzip) {
  ScratchDir dir;
  Bytes payload(4000);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::uint8_t>(i * 7);
  write_gzip(dir / "f.gz", idx_bytes({10, 20, 20}, payload));
  Bytes bytes = testing::read_bytes(dir / "f.gz");
  bytes.resize(bytes.size() / 2);
  write_bytes(dir / "f.gz", bytes);
  expect_idx_error(dir / "f.gz", 3, {"truncated"});
}

TEST(IdxMalformed, GzipWithTrailingData) {
  ScratchDir dir;
  Bytes bytes = idx_bytes({3, 2, 2}, kPixels);
  bytes.resize(bytes.size() + 100000, 0);  // a "bomb" of zeros after the data
  write_gzip(dir / "f.gz", bytes);
  expect_idx_error(dir / "f.gz", 3, {"at byte 28", "trailing bytes"});
}

TEST(IdxMalformed, MissingFile) {
  ScratchDir dir;
  expect_idx_error(dir / "absent", 3, {"no such file"});
}

TEST(IdxMalformed, DirectoryInsteadOfFile) {
  ScratchDir dir;
  std::filesystem::create_directory(dir / "sub");
  expect_idx_error(dir / "sub", 3, {"not a regular file"});
}

TEST(IdxPair, CountMismatch) {
  ScratchDir dir;
  write_bytes(dir / "images", idx_bytes({3, 2, 2}, kPixels));
  write_bytes(dir / "labels", idx_bytes({2}, {1, 2}));
  try {
    load_idx_pair(dir / "images", dir / "labels", 10);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("expected 3 labels, one per image"), std::string::npos)
        << e.what();
  }
}

TEST(IdxPair, HeadersAreComparedBeforeAGzipPayloadIsInflated) {
  // A gzip file that honestly holds 100,000 blank 28x28 images (78 MB
  // inflated, a few hundred KB on disk) beside 3 labels: the mismatch must
  // be found from the headers, without inflating the images.
  ScratchDir dir;
  const auto images = dir / "images.gz";
  {
    gzFile out = gzopen(images.c_str(), "wb1");
    ASSERT_NE(out, nullptr);
    const Bytes header = idx_bytes({100000, 28, 28}, {});
    gzwrite(out, header.data(), static_cast<unsigned>(header.size()));
    const Bytes zeros(1 << 20, 0);
    std::size_t left = std::size_t{100000} * 28 * 28;
    while (left > 0) {
      const auto n = static_cast<unsigned>(std::min(left, zeros.size()));
      ASSERT_EQ(gzwrite(out, zeros.data(), n), static_cast<int>(n));
      left -= n;
    }
    gzclose(out);
  }
  write_bytes(dir / "labels", idx_bytes({3}, {1, 2, 3}));
  struct rusage before {}, after {};
  ::getrusage(RUSAGE_SELF, &before);
  try {
    load_idx_pair(images, dir / "labels", 10);
    FAIL() << "accepted 100000 images with 3 labels";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("expected 100000 labels, one per image"), std::string::npos) << e.what();
  }
  ::getrusage(RUSAGE_SELF, &after);
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 32 * 1024) << "kB more at peak: the payload was inflated";
}

TEST(IdxPair, LabelOutOfRange) {
  ScratchDir dir;
  write_bytes(dir / "images", idx_bytes({3, 2, 2}, kPixels));
  write_bytes(dir / "labels", idx_bytes({3}, {1, 12, 2}));
  try {
    load_idx_pair(dir / "images", dir / "labels", 10);
    FAIL();
  } catch (const DataError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("at byte 9"), std::string::npos) << message;
    EXPECT_NE(message.find("a label in [0, 9]"), std::string::npos) << message;
    EXPECT_NE(message.find("found 12"), std::string::npos) << message;
  }
}

TEST(Dataset, FindsEitherSpellingAndCompression) {
  ScratchDir dir;
  write_gzip(dir / "t10k-images.idx3-ubyte.gz", idx_bytes({3, 2, 2}, kPixels));
  write_bytes(dir / "t10k-labels-idx1-ubyte", idx_bytes({3}, {0, 1, 2}));
  const Dataset data = load_dataset(dir.path(), Split::test);
  EXPECT_EQ(data.count, 3u);
  EXPECT_EQ(data.rows, 2u);
  EXPECT_EQ(data.cols, 2u);
  EXPECT_EQ(data.pixels, kPixels);
  EXPECT_EQ(data.labels, (Bytes{0, 1, 2}));
}

TEST(Dataset, MissingSplitNamesWhatWasSought) {
  ScratchDir dir;
  try {
    load_dataset(dir.path(), Split::train);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("train-images-idx3-ubyte"), std::string::npos) << e.what();
  }
}

TEST(Dataset, ValidationSplitTakesTheTailLikeKeras) {
  Dataset data;
  data.count = 10;
  data.rows = 1;
  data.cols = 1;
  for (std::uint8_t i = 0; i < 10; ++i) {
    data.pixels.push_back(i);
    data.labels.push_back(i);
  }
  const Dataset validation = split_off_tail(data, 0.25);  // int(10 * 0.75) = 7 kept
  EXPECT_EQ(data.count, 7u);
  EXPECT_EQ(validation.count, 3u);
  EXPECT_EQ(validation.labels, (Bytes{7, 8, 9}));
  EXPECT_EQ(data.pixels, (Bytes{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_THROW(split_off_tail(data, 1.0), ConfigError);
}

TEST(Dataset, RealMnistLoadsWithExpectedShape) {
  const auto dir = testing::mnist_dir();
  if (dir.empty()) GTEST_SKIP() << "MNIST not fetched (scripts/fetch-mnist.sh)";
  const Dataset train = load_dataset(dir, Split::train);
  const Dataset test = load_dataset(dir, Split::test);
  EXPECT_EQ(train.count, 60000u);
  EXPECT_EQ(test.count, 10000u);
  EXPECT_EQ(train.features(), 784u);
  EXPECT_EQ(test.labels[0], 7);  // the famous first test digit
}

}  // namespace
}  // namespace bpnet
