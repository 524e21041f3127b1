// Model files: bit-exact round trips, and every kind of damage rejected with
// a message that says what is wrong.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>

#include "bpnet/atomic_file.hpp"
#include "bpnet/error.hpp"
#include "bpnet/model_file.hpp"
#include "test_support.hpp"

namespace bpnet {
namespace {

using testing::Bytes;
using testing::ScratchDir;

std::unique_ptr<Model<float>> trained_looking_network() {
  auto network = std::make_unique<Model<float>>(testing::mlp_spec({784, 16, 10}));
  Rng rng(5);
  network->initialize(Init::torch, rng);
  return network;
}

// Rewrites the trailing CRC so a test can reach the checks behind it.
void fix_checksum(Bytes& bytes) {
  const auto crc = static_cast<std::uint32_t>(crc32(0, bytes.data(), static_cast<uInt>(bytes.size() - 4)));
  std::memcpy(bytes.data() + bytes.size() - 4, &crc, 4);
}

void expect_model_error(const Bytes& bytes, const std::string& part) {
  try {
    decode_model(bytes, "m.bpn");
    FAIL() << "accepted a damaged model; expected: " << part;
  } catch (const ModelFileError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("m.bpn"), std::string::npos) << message;
    EXPECT_NE(message.find(part), std::string::npos) << message;
  }
}

TEST(ModelFile, RoundTripIsBitExact) {
  ScratchDir dir;
  auto original = trained_looking_network();
  save_model(dir / "m.bpn", *original);
  auto loaded = load_model(dir / "m.bpn");
  ASSERT_EQ(loaded->parameters().size(), original->parameters().size());
  EXPECT_EQ(std::memcmp(loaded->parameters().data(), original->parameters().data(),
                        original->parameters().size_bytes()),
            0);
  EXPECT_EQ(loaded->spec(), original->spec());
  EXPECT_EQ(loaded->spec().normalize, original->spec().normalize);
  EXPECT_EQ(encode_model(*loaded), encode_model(*original));
}

TEST(ModelFile, FlippedByteFailsChecksum) {
  Bytes bytes = encode_model(*trained_looking_network());
  bytes[bytes.size() / 2] ^= 0x01;
  expect_model_error(bytes, "checksum mismatch");
}

TEST(ModelFile, TruncatedFile) {
  Bytes bytes = encode_model(*trained_looking_network());
  bytes.resize(bytes.size() - 1000);
  expect_model_error(bytes, "checksum mismatch");
  bytes.resize(24);
  expect_model_error(bytes, "checksum mismatch");
  fix_checksum(bytes);  // intact framing, but the header claims more than there is
  expect_model_error(bytes, "truncated or corrupt");
}

TEST(ModelFile, RandomBytesAfterTheMagicAreDamageNotANewerVersion) {
  Bytes bytes = encode_model(*trained_looking_network());
  Rng rng(3);
  for (std::size_t i = 8; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(rng.below(256));
  expect_model_error(bytes, "checksum mismatch");
}

TEST(ModelFile, WrongMagic) {
  Bytes bytes = encode_model(*trained_looking_network());
  bytes[0] = 'X';
  expect_model_error(bytes, "not a bpnet model file");
  expect_model_error(Bytes{}, "not a bpnet model file");
}

TEST(ModelFile, FutureVersionGetsUpgradeHint) {
  Bytes bytes = encode_model(*trained_looking_network());
  bytes[8] = 3;
  fix_checksum(bytes);
  expect_model_error(bytes, "version 3 is newer than this bpnet reads (2); upgrade bpnet");
}

TEST(ModelFile, ParameterCountMismatch) {
  Bytes bytes = encode_model(*trained_looking_network());
  std::uint32_t header = 0;
  std::memcpy(&header, bytes.data() + 12, 4);
  bytes[16 + header] ^= 0x01;  // low byte of the parameter count
  fix_checksum(bytes);
  expect_model_error(bytes, "parameters but the file stores");
}

TEST(ModelFile, BadArchitectureJson) {
  Bytes bytes = encode_model(*trained_looking_network());
  bytes[16] = '[';  // JSON no longer an object
  fix_checksum(bytes);
  expect_model_error(bytes, "bad architecture header");
}

TEST(ModelFile, HugeClaimedArchitectureIsRejectedBeforeAllocating) {
  ModelSpec spec;
  spec = testing::mlp_spec({784, 16, 10});
  Model<float> small(spec);
  Bytes bytes = encode_model(small);
  std::uint32_t header = 0;
  std::memcpy(&header, bytes.data() + 12, 4);
  std::string json(reinterpret_cast<const char*>(bytes.data() + 16), header);
  const std::string from = R"({"out":16,"type":"Linear"})";
  ASSERT_NE(json.find(from), std::string::npos) << json;
  // 784 x 1,000,000 weights would be 3 GB: the claim must be checked against
  // the file's size before anything is allocated for it.
  json.replace(json.find(from), from.size(), R"({"out":1000000,"type":"Linear"})");
  Bytes forged(bytes.begin(), bytes.begin() + 12);
  const auto new_header = static_cast<std::uint32_t>(json.size());
  forged.insert(forged.end(), reinterpret_cast<const std::uint8_t*>(&new_header),
                reinterpret_cast<const std::uint8_t*>(&new_header) + 4);
  forged.insert(forged.end(), json.begin(), json.end());
  forged.insert(forged.end(), bytes.begin() + 16 + header, bytes.end());
  bytes = forged;
  fix_checksum(bytes);
  expect_model_error(bytes, "parameters but the file stores");
}

TEST(ModelFile, FuzzSeedCorpusModelsAreValid) {
  // The fuzzer starts from these; they must be accepted, or it starts blind.
  std::size_t seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(BPNET_SOURCE_DIR "/fuzz/corpus/model")) {
    EXPECT_NO_THROW(load_model(entry.path())) << entry.path();
    ++seen;
  }
  EXPECT_GE(seen, 3u);
}

TEST(ModelFile, LoadReportsMissingFile) {
  ScratchDir dir;
  EXPECT_THROW(load_model(dir / "absent.bpn"), ModelFileError);
}

TEST(AtomicFile, RefusesToReplaceANonRegularFile) {
  ScratchDir dir;
  std::filesystem::create_directory(dir / "folder");
  EXPECT_THROW(save_model(dir / "folder", *trained_looking_network()), WriteError);
  EXPECT_TRUE(std::filesystem::is_directory(dir / "folder"));
}

TEST(AtomicFile, MissingFolderIsAClearErrorAndLeavesNothing) {
  ScratchDir dir;
  try {
    write_file_atomically(dir / "no" / "such" / "m.bpn", std::string_view("x"));
    FAIL();
  } catch (const WriteError& e) {
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
}

TEST(AtomicFile, ReplacesContentAndLeavesNoTemporaryFiles) {
  ScratchDir dir;
  write_file_atomically(dir / "a.txt", std::string_view("old"));
  write_file_atomically(dir / "a.txt", std::string_view("new content"));
  const Bytes bytes = testing::read_bytes(dir / "a.txt");
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "new content");
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1u);
}

}  // namespace
}  // namespace bpnet
