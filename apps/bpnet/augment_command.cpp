// bpnet augment: training images beside the distorted versions the network
// would see of them, so that a user can tune the distortions by eye.
#include <fmt/format.h>

#include "bpnet/atomic_file.hpp"
#include "bpnet/augment.hpp"
#include "bpnet/error.hpp"
#include "bpnet/plots.hpp"
#include "bpnet/presets.hpp"
#include "cli_checks.hpp"
#include "commands.hpp"
#include "train_flags.hpp"

namespace bpnet::cli {
namespace {

constexpr std::size_t kMaxImages = 20, kMaxVersions = 12;

struct AugmentCommandFlags {
  std::string data = default_data_dir();
  std::string split = "train";
  std::vector<std::size_t> indices;
  std::size_t versions = 6;
  std::uint64_t seed = 1;
  std::optional<std::string> preset;
  AugmentFlags augment;
  std::string out = "augment.png";
};

int run_augment(const AugmentCommandFlags& flags) {
  check_extension(flags.out, ".png", "--out");
  if (flags.split != "train" && flags.split != "test") {
    throw ConfigError(fmt::format("--split must be train or test (got '{}')", flags.split));
  }
  if (flags.indices.empty() || flags.indices.size() > kMaxImages) {
    throw ConfigError(fmt::format("--index takes 1 to {} images (got {})", kMaxImages, flags.indices.size()));
  }
  if (flags.versions == 0 || flags.versions > kMaxVersions) {
    throw ConfigError(fmt::format("--versions must be in [1, {}] (got {})", kMaxVersions, flags.versions));
  }
  // A preset's distortions, else both kinds at their defaults, then the flags.
  AugmentOptions base = flags.preset ? preset(*flags.preset).augment : AugmentOptions{};
  if (!base.enabled()) base.kind = AugmentKind::both;
  const AugmentOptions options = flags.augment.applied_to(base);
  options.validate();
  prepare_output_file(flags.out);
  const Dataset data = load_dataset(flags.data, flags.split == "train" ? Split::train : Split::test, kAnyLabel);
  for (const std::size_t index : flags.indices) {
    if (index >= data.count) {
      throw ConfigError(fmt::format("--index {} is out of range: {} has images 0 to {}", index, data.name,
                                    data.count - 1));
    }
  }
  Distorter distorter(options, data.rows, data.cols);
  ImageTable table;
  table.title = fmt::format("{} images as training sees them: {}", flags.split == "train" ? "Training" : "Test",
                            describe(options));
  table.image_rows = data.rows;
  table.image_cols = data.cols;
  table.column_titles.push_back("original");
  for (std::size_t e = 1; e <= flags.versions; ++e) table.column_titles.push_back(fmt::format("epoch {}", e));
  for (const std::size_t index : flags.indices) {
    ImageTable::Row row{.title = fmt::format("{} (label {})", index, data.labels[index]), .images = {}};
    row.images.emplace_back(data.image(index), data.image(index) + data.features());
    for (std::size_t e = 0; e < flags.versions; ++e) {
      std::vector<float>& image = row.images.emplace_back(data.features());
      // Keyed as in training: a training image's version in epoch e + 1 is this one.
      distorter.distort(data.image(index), flags.seed, e, index, image.data());
    }
    table.rows.push_back(std::move(row));
  }
  plot_image_table(table, flags.out);
  fmt::print("{} images x {} distorted versions ({}) written to {}\n", flags.indices.size(), flags.versions,
             describe(options), flags.out);
  return 0;
}

}  // namespace

Command add_augment_command(CLI::App& app) {
  auto flags = std::make_shared<AugmentCommandFlags>();
  CLI::App* cmd = app.add_subcommand(
      "augment", "Draw images beside the distorted versions training would see of them (epochs 1, 2, ...), as PNG");
  cmd->add_option("--data", flags->data, "Folder with the IDX files")->capture_default_str();
  cmd->add_option("--split", flags->split, "train or test")->capture_default_str();
  cmd->add_option("--index", flags->indices, "Image indices (0-based), e.g. --index 0,1,2")
      ->required()
      ->delimiter(',')
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->check(not_negative());
  cmd->add_option("--versions", flags->versions, "Distorted versions of each image, in [1, 12]")
      ->capture_default_str()
      ->check(not_negative());
  cmd->add_option("--seed", flags->seed, "The training run's seed")->capture_default_str()->check(not_negative());
  cmd->add_option("--preset", flags->preset, "Start from this preset's distortions (default: both kinds)");
  add_augment_flags(*cmd, flags->augment);
  cmd->add_option("--out", flags->out, "PNG file to write")->capture_default_str();
  return [flags] { return run_augment(*flags); };
}

}  // namespace bpnet::cli
