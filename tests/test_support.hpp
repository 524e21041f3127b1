// Helpers shared by the tests: scratch folders and small IDX files made on
// the spot, so no test depends on data it did not create (except the
// end-to-end ones, which use real MNIST when it has been fetched).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "bpnet/dataset.hpp"
#include "bpnet/random.hpp"
#include "bpnet/spec.hpp"
#include "bpnet/train.hpp"

namespace bpnet::testing {

// A fresh folder under the system temp dir, removed when the test ends.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

using Bytes = std::vector<std::uint8_t>;

// The bytes of an unsigned-byte IDX file with these dimensions and values.
Bytes idx_bytes(const std::vector<std::uint32_t>& dims, const Bytes& values);
void write_bytes(const std::filesystem::path& path, const Bytes& bytes);
void write_gzip(const std::filesystem::path& path, const Bytes& bytes);
Bytes read_bytes(const std::filesystem::path& path);

// n images of rows x cols whose pixels depend on the label, so a network can
// learn them; labels cycle 0..classes-1.
struct SyntheticSet {
  Bytes pixels;
  Bytes labels;
};
SyntheticSet synthetic_set(std::size_t n, std::size_t rows, std::size_t cols, std::size_t classes,
                           std::uint64_t seed);

// The same, as an in-memory Dataset of 4x5 images.
Dataset synthetic_dataset(std::size_t n, std::uint64_t seed);

// Writes train-* and t10k-* IDX files of synthetic data into `dir`.
void write_synthetic_split_files(const std::filesystem::path& dir, std::size_t train_n,
                                 std::size_t test_n, std::size_t rows, std::size_t cols);

// A multilayer perceptron through the --layers shorthand, with the image
// shape set to one row of inputs (a Trainer replaces it with the data's).
ModelSpec mlp_spec(const std::vector<std::size_t>& sizes, Activation activation = Activation::relu,
                   Output output = Output::log_softmax, LossKind loss = LossKind::nll);

// A small regularised recipe for 4x5 synthetic images: 20-16-10 with
// BatchNorm1d and Dropout(0.25), Adam, cosine after one warm-up epoch,
// early stopping (patience 2) on a 25% validation split, 12 epochs, batch 16.
TrainConfig regularised_config();

// A copy of a span's values, for comparing parameters bit for bit.
std::vector<float> values(std::span<const float> span);

// The folder with real MNIST if scripts/fetch-mnist.sh has been run, else empty.
std::filesystem::path mnist_dir();
// The same, recording a failure when it is empty under CI (which must fetch
// MNIST); elsewhere the caller skips: if (dir.empty()) GTEST_SKIP() << ...
std::filesystem::path mnist_dir_required_in_ci();

}  // namespace bpnet::testing
