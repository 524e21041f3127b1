// What distortions cost, beside what the network costs, and whether the
// data-loading workers hide it. Prints:
//   1. microseconds per image of each distortion on one thread, and the
//      separable blur against its direct reference;
//   2. microseconds per image of a training step of the preset networks
//      (compute threads as given, no distortions), so the ratio is visible;
//   3. epoch time of a distorting preset with --workers 0, 1, 2, with one and
//      with two compute threads, the set-ups taking turns round by round
//      (medians), on a subset of MNIST.
// Run: build/release/bench/augment_bench [MNIST dir] [images] [rounds]
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "bpnet/augment.hpp"
#include "bpnet/dataset.hpp"
#include "bpnet/error.hpp"
#include "bpnet/presets.hpp"
#include "bpnet/train.hpp"
#include "kernels/gaussian_blur.hpp"
#include "one_line_errors.hpp"

namespace {

using namespace bpnet;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

double distortion_us(const Dataset& data, AugmentKind kind) {
  AugmentOptions options;
  options.kind = kind;
  Distorter distorter(options, data.rows, data.cols);
  std::vector<float> out(data.features());
  constexpr std::size_t kImages = 20000;
  const auto start = Clock::now();
  for (std::size_t i = 0; i < kImages; ++i) distorter.distort(data.image(i % data.count), 1, 0, i, out.data());
  return seconds_since(start) / kImages * 1e6;
}

double blur_us(bool separable, std::size_t rows, std::size_t cols) {
  const std::vector<float> kernel = gaussian_kernel(4, std::max(rows, cols));
  std::vector<float> field(rows * cols, 0.25f), out(field.size()), scratch(blur_scratch_size(rows, cols, kernel.size()));
  const std::size_t repeats = separable ? 20000 : 200;
  const auto start = Clock::now();
  for (std::size_t i = 0; i < repeats; ++i) {
    field[i % field.size()] = static_cast<float>(i % 7);
    if (separable) {
      blur_separable(field.data(), rows, cols, kernel, scratch.data(), out.data());
    } else {
      blur_direct(field.data(), rows, cols, kernel, out.data());
    }
  }
  return seconds_since(start) / static_cast<double>(repeats) * 1e6;
}

// Wall seconds of one epoch of `config` on `train`.
double epoch_seconds(TrainConfig config, const Dataset& train) {
  config.epochs = 1;
  Trainer trainer(config, train);
  const auto start = Clock::now();
  trainer.run_epoch();
  return seconds_since(start);
}

// A positional count: a whole number in [1, max], or ConfigError naming it.
std::size_t count_argument(const char* text, const char* what, std::size_t max) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0' || errno != 0 || value < 1 || value > max || text[0] == '-') {
    throw bpnet::ConfigError(fmt::format("{} must be a whole number in [1, {}], not '{}'", what, max, text));
  }
  return static_cast<std::size_t>(value);
}

int run(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "data/mnist";
  const std::size_t images = argc > 2 ? count_argument(argv[2], "images", 60000) : 12000;
  const int rounds = argc > 3 ? static_cast<int>(count_argument(argv[3], "rounds", 1000)) : 3;
  Dataset train = load_dataset(dir, Split::train);
  keep_first(train, std::min(images, train.count));

  fmt::print("1. distortion cost, one thread, {}x{} images\n", train.rows, train.cols);
  std::map<AugmentKind, double> cost;
  for (const AugmentKind kind : {AugmentKind::affine, AugmentKind::elastic, AugmentKind::both}) {
    cost[kind] = distortion_us(train, kind);
    fmt::print("   {:<8} {:6.2f} us/image\n", name(kind), cost[kind]);
  }
  const double separable = blur_us(true, train.rows, train.cols), direct = blur_us(false, train.rows, train.cols);
  fmt::print("   blur of one field (sigma 4): separable {:.2f} us, direct reference {:.1f} us ({:.0f}x)\n", separable,
             direct, direct / separable);

  fmt::print("\n2. training cost of the networks, no distortions, {} images, all cores\n", train.count);
  for (const char* name : {"simard-800-elastic", "best"}) {
    TrainConfig config = preset(name);
    const AugmentKind kind = config.augment.kind;
    config.augment.kind = AugmentKind::none;
    config.workers = 0;
    epoch_seconds(config, train);  // warm-up
    const double us = epoch_seconds(config, train) / static_cast<double>(train.count) * 1e6;
    fmt::print("   {:<18} {:7.2f} us/image; its distortions ({}, {:.2f} us on one core) are {:.0f}% of that\n", name, us,
               bpnet::name(kind), cost[kind], 100 * cost[kind] / us);
  }

  fmt::print("\n3. simard-800-elastic epoch time by --workers, {} images, {} rounds taking turns\n", train.count, rounds);
  for (const int threads : {1, 2}) {
    std::map<int, std::vector<double>> times;
    for (int round = 0; round < rounds; ++round) {
      for (const int workers : {0, 1, 2}) {
        TrainConfig config = preset("simard-800-elastic");
        config.threads = threads;
        config.workers = workers;
        times[workers].push_back(epoch_seconds(config, train));
      }
    }
    const double none = median(times[0]);
    for (const auto& [workers, seconds] : times) {
      fmt::print("   --threads {} --workers {}: {:.3f} s/epoch (median), {:.2f}x --workers 0\n", threads, workers,
                 median(seconds), none / median(seconds));
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_with_one_line_errors("augment_bench", run, argc, argv); }
