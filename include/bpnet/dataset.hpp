// Labelled image sets in memory, loaded from an IDX images/labels pair.
// Pixels stay uint8 (a quarter of float's memory); batches are converted to
// float as they are assembled (batches.hpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace bpnet {

struct Dataset {
  std::string name;                  // for messages: the images file
  std::string labels_name;           // for messages: the labels file
  std::size_t count = 0;             // N images
  std::size_t rows = 0, cols = 0;    // each image is rows x cols
  std::vector<std::uint8_t> pixels;  // (N, rows * cols)
  std::vector<std::uint8_t> labels;  // (N), each < classes

  std::size_t features() const { return rows * cols; }
  const std::uint8_t* image(std::size_t i) const { return pixels.data() + i * features(); }
};

enum class Split { train, test };

// Loads a pair of IDX files and checks that they agree: images rank 3,
// labels rank 1, equal counts, every label in [0, classes).
Dataset load_idx_pair(const std::filesystem::path& images, const std::filesystem::path& labels,
                      std::size_t classes);

// Finds a split's files in `dir` under the usual names (train-images-idx3-ubyte
// or train-images.idx3-ubyte, each optionally .gz; t10k-... for test) and loads them.
Dataset load_dataset(const std::filesystem::path& dir, Split split, std::size_t classes = 10);

// "60000 images of 28x28, CRC-32 1a2b3c4d": what a checkpoint remembers of
// its data, so that --resume refuses to continue on different data.
std::string fingerprint(const Dataset& data);

// Keras' validation_split: moves the last `fraction` of `train` (taken before
// any shuffling) into the returned set. fraction in [0, 1); 0 returns an empty set.
Dataset split_off_tail(Dataset& train, double fraction);

// Keeps the first n images (--train-images); ConfigError if there are fewer.
void keep_first(Dataset& data, std::size_t n);

}  // namespace bpnet

namespace bpnet {

// Throws ConfigError, blaming the model, unless every label of `data` is
// below `classes` (the model's output count).
void check_labels(const Dataset& data, std::size_t classes);

}  // namespace bpnet
