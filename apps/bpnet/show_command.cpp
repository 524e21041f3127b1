// bpnet show: one digit enlarged, the first look at the data.
#include <fmt/format.h>

#include "bpnet/error.hpp"
#include "bpnet/plots.hpp"
#include "cli_checks.hpp"
#include "commands.hpp"

namespace bpnet::cli {
namespace {

struct ShowFlags {
  std::string data = default_data_dir();
  std::string split = "test";
  std::size_t index = 0;
  std::string out = "digit.png";
};

int run_show(const ShowFlags& flags) {
  check_extension(flags.out, ".png", "--out");
  if (flags.split != "train" && flags.split != "test") {
    throw ConfigError(fmt::format("--split must be train or test (got '{}')", flags.split));
  }
  // Labels up to 255 are accepted here: showing needs no network.
  const Dataset data = load_dataset(flags.data, flags.split == "train" ? Split::train : Split::test, 256);
  plot_digit(data, flags.index, flags.out);
  fmt::print("{} image {} (label {}) written to {}\n", flags.split, flags.index, data.labels[flags.index],
             flags.out);
  return 0;
}

}  // namespace

Command add_show_command(CLI::App& app) {
  auto flags = std::make_shared<ShowFlags>();
  CLI::App* cmd = app.add_subcommand("show", "Draw one image of a data set, enlarged, as PNG");
  cmd->add_option("--data", flags->data, "Folder with the IDX files")->capture_default_str();
  cmd->add_option("--split", flags->split, "train or test")->capture_default_str();
  cmd->add_option("--index", flags->index, "Image index (0-based)")->required()->check(not_negative());
  cmd->add_option("--out", flags->out, "PNG file to write")->capture_default_str();
  return [flags] { return run_show(*flags); };
}

}  // namespace bpnet::cli
