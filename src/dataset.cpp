#include "bpnet/dataset.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>

#include <array>
#include <cmath>

#include "bpnet/error.hpp"
#include "bpnet/idx.hpp"

namespace bpnet {
namespace {

constexpr std::size_t kLabelHeaderBytes = 8;

std::filesystem::path find_file(const std::filesystem::path& dir, const std::string& stem,
                                const std::string& kind) {
  // The files appear under both spellings in the wild (LeCun's site uses
  // dashes, several mirrors a dot), compressed or not.
  const std::array<std::string, 4> candidates{stem + "-" + kind, stem + "." + kind,
                                              stem + "-" + kind + ".gz", stem + "." + kind + ".gz"};
  for (const auto& candidate : candidates) {
    std::error_code ec;
    if (std::filesystem::exists(dir / candidate, ec)) return dir / candidate;
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw DataError(dir.string(), "no such data folder (run scripts/fetch-mnist.sh or pass --data DIR)");
  }
  throw DataError(dir.string(), fmt::format("no {} file (looked for {}[.gz] and {}[.gz])", stem,
                                            candidates[0], candidates[1]));
}

}  // namespace

Dataset load_idx_pair(const std::filesystem::path& images_path,
                      const std::filesystem::path& labels_path, std::size_t classes) {
  // The headers are compared before either payload is read: a file that
  // honestly claims millions of images beside 100 labels fails at once.
  const std::uint32_t image_count = read_idx_dims(images_path, 3)[0];
  const std::uint32_t label_count = read_idx_dims(labels_path, 1)[0];
  if (label_count != image_count) {
    throw DataError(labels_path.string(), 4,
                    fmt::format("{} labels, one per image in {}", image_count, images_path.string()),
                    fmt::format("{}", label_count));
  }
  IdxArray images = read_idx(images_path, 3);
  IdxArray labels = read_idx(labels_path, 1);
  if (labels.dims[0] != images.dims[0]) {
    throw DataError(labels_path.string(), "changed while being read");
  }
  for (std::size_t i = 0; i < labels.values.size(); ++i) {
    if (labels.values[i] >= classes) {
      throw DataError(labels_path.string(), kLabelHeaderBytes + i,
                      fmt::format("a label in [0, {}]", classes - 1),
                      fmt::format("{} (label of image {})", labels.values[i], i));
    }
  }
  Dataset data;
  data.name = images_path.string();
  data.labels_name = labels_path.string();
  data.count = images.dims[0];
  data.rows = images.dims[1];
  data.cols = images.dims[2];
  data.pixels = std::move(images.values);
  data.labels = std::move(labels.values);
  return data;
}

Dataset load_dataset(const std::filesystem::path& dir, Split split, std::size_t classes) {
  const std::string stem = split == Split::train ? "train" : "t10k";
  // Sequenced so that a folder missing both reports the images first.
  const auto images = find_file(dir, stem + "-images", "idx3-ubyte");
  const auto labels = find_file(dir, stem + "-labels", "idx1-ubyte");
  return load_idx_pair(images, labels, classes);
}

std::string fingerprint(const Dataset& data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes lengths as uInt: feed the pixels in chunks.
  for (std::size_t done = 0; done < data.pixels.size();) {
    const std::size_t n = std::min<std::size_t>(data.pixels.size() - done, std::size_t{1} << 30);
    crc = crc32(crc, data.pixels.data() + done, static_cast<uInt>(n));
    done += n;
  }
  crc = crc32(crc, data.labels.data(), static_cast<uInt>(data.labels.size()));
  return fmt::format("{} images of {}x{}, CRC-32 {:08x}", data.count, data.rows, data.cols, crc);
}

Dataset split_off_tail(Dataset& train, double fraction) {
  if (!(fraction >= 0 && fraction < 1)) {
    throw ConfigError(fmt::format("validation split must be in [0, 1) (got {})", fraction));
  }
  // Keras: split_at = int(n * (1 - validation_split)).
  const auto keep = static_cast<std::size_t>(std::floor(static_cast<double>(train.count) * (1 - fraction)));
  if (keep == 0) throw ConfigError("validation split leaves no training images");
  Dataset validation;
  validation.name = train.name + " (validation)";
  validation.labels_name = train.labels_name + " (validation)";
  validation.rows = train.rows;
  validation.cols = train.cols;
  validation.count = train.count - keep;
  const auto pixel_cut = static_cast<std::ptrdiff_t>(keep * train.features());
  validation.pixels.assign(train.pixels.begin() + pixel_cut, train.pixels.end());
  validation.labels.assign(train.labels.begin() + static_cast<std::ptrdiff_t>(keep), train.labels.end());
  keep_first(train, keep);
  return validation;
}

void keep_first(Dataset& data, std::size_t n) {
  if (n > data.count) {
    throw ConfigError(fmt::format("--train-images {} is more than the {} images in {}", n, data.count, data.name));
  }
  data.pixels.resize(n * data.features());
  data.pixels.shrink_to_fit();
  data.labels.resize(n);
  data.count = n;
}

}  // namespace bpnet

namespace bpnet {

void check_labels(const Dataset& data, std::size_t classes) {
  if (data.count == 0) return;
  const auto largest = std::max_element(data.labels.begin(), data.labels.end());
  if (*largest < classes) return;
  // The data is fine (the reader checked it); the model is too small for it.
  const auto image = static_cast<std::size_t>(largest - data.labels.begin());
  throw ConfigError(fmt::format(
      "the model has {} classes (labels 0 to {}) but the labels in {} go up to {} (image {}): give its last "
      "layer {} outputs (--layers ...,{})",
      classes, classes - 1, data.labels_name.empty() ? data.name : data.labels_name, *largest, image, *largest + 1,
      *largest + 1));
}

}  // namespace bpnet
