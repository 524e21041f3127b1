#include "test_support.hpp"

#include <unistd.h>
#include <zlib.h>

#include <cstdlib>
#include <fstream>

namespace bpnet::testing {

ScratchDir::ScratchDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "bpnet-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Bytes idx_bytes(const std::vector<std::uint32_t>& dims, const Bytes& values) {
  Bytes out{0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
  for (std::uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(d >> shift));
  }
  out.insert(out.end(), values.begin(), values.end());
  return out;
}

void write_bytes(const std::filesystem::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

void write_gzip(const std::filesystem::path& path, const Bytes& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(file);
}

Bytes read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

SyntheticSet synthetic_set(std::size_t n, std::size_t rows, std::size_t cols, std::size_t classes,
                           std::uint64_t seed) {
  Rng rng(seed);
  SyntheticSet set;
  const std::size_t features = rows * cols;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t label = i % classes;
    set.labels.push_back(static_cast<std::uint8_t>(label));
    for (std::size_t j = 0; j < features; ++j) {
      // A bright band whose position encodes the class, plus noise.
      const bool on = (j * classes / features) == label;
      set.pixels.push_back(static_cast<std::uint8_t>((on ? 160 : 0) + rng.below(80)));
    }
  }
  return set;
}

Dataset synthetic_dataset(std::size_t n, std::uint64_t seed) {
  SyntheticSet set = synthetic_set(n, 4, 5, 10, seed);
  Dataset data;
  data.name = "synthetic";
  data.count = n;
  data.rows = 4;
  data.cols = 5;
  data.pixels = std::move(set.pixels);
  data.labels = std::move(set.labels);
  return data;
}

void write_synthetic_split_files(const std::filesystem::path& dir, std::size_t train_n,
                                 std::size_t test_n, std::size_t rows, std::size_t cols) {
  const auto r = static_cast<std::uint32_t>(rows);
  const auto c = static_cast<std::uint32_t>(cols);
  const SyntheticSet train = synthetic_set(train_n, rows, cols, 10, 11);
  const SyntheticSet test = synthetic_set(test_n, rows, cols, 10, 12);
  write_bytes(dir / "train-images-idx3-ubyte", idx_bytes({static_cast<std::uint32_t>(train_n), r, c}, train.pixels));
  write_bytes(dir / "train-labels-idx1-ubyte", idx_bytes({static_cast<std::uint32_t>(train_n)}, train.labels));
  write_bytes(dir / "t10k-images-idx3-ubyte", idx_bytes({static_cast<std::uint32_t>(test_n), r, c}, test.pixels));
  write_bytes(dir / "t10k-labels-idx1-ubyte", idx_bytes({static_cast<std::uint32_t>(test_n)}, test.labels));
}

ModelSpec mlp_spec(const std::vector<std::size_t>& sizes, Activation activation, Output output, LossKind loss) {
  ModelSpec spec = expand({.sizes = sizes, .activation = activation, .output = output}, loss, Normalize::unit);
  spec.image_rows = 1;
  spec.image_cols = sizes.front();
  return spec;
}

TrainConfig regularised_config() {
  TrainConfig config;
  config.model = expand({.sizes = {20, 16, 10}, .dropout = 0.25, .batchnorm = true}, LossKind::nll, Normalize::unit);
  config.batch = 16;
  config.epochs = 12;
  config.threads = 1;
  config.validation_split = 0.25;
  config.optimizer = {.kind = OptimizerKind::adam, .lr = 0.01};
  config.schedule = {.kind = ScheduleKind::cosine, .warmup_epochs = 1};
  config.early_stopping = {.patience = 2};
  return config;
}

std::vector<float> values(std::span<const float> span) { return {span.begin(), span.end()}; }

std::filesystem::path mnist_dir() {
  const char* from_env = std::getenv("BPNET_MNIST_DIR");
  const std::filesystem::path dir = from_env ? from_env : BPNET_SOURCE_DIR "/data/mnist";
  return std::filesystem::exists(dir / "train-images-idx3-ubyte") ? dir : std::filesystem::path{};
}

std::filesystem::path mnist_dir_required_in_ci() {
  const std::filesystem::path dir = mnist_dir();
  if (dir.empty() && std::getenv("CI")) ADD_FAILURE() << "CI must fetch MNIST before the tests";
  return dir;
}

}  // namespace bpnet::testing
