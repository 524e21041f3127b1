// bpnet plot: several runs' curves on one chart, e.g. 5, 15 and 30 epochs.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "bpnet/error.hpp"
#include "bpnet/history.hpp"
#include "bpnet/plots.hpp"
#include "cli_checks.hpp"
#include "commands.hpp"

namespace bpnet::cli {
namespace {

struct PlotFlags {
  std::vector<std::string> histories;
  std::vector<std::string> labels;
  std::string out = "compare.png";
  std::string svg;
};

// A run folder's history.json is named by its folder, any other file by its
// name: "20261128-120501-keras-seed (30 epochs)".
std::string default_name(const std::filesystem::path& path) {
  const bool run_folder = path.filename() == "history.json" && path.has_parent_path();
  return run_folder ? path.parent_path().filename().string() : path.stem().string();
}

// The chart must never replace one of the histories it was drawn from.
void check_not_an_input(const std::string& out, const std::vector<std::string>& histories) {
  std::error_code ec;
  for (const std::string& history : histories) {
    if (std::filesystem::weakly_canonical(out, ec) == std::filesystem::weakly_canonical(history, ec)) {
      throw ConfigError(fmt::format("--out {} is one of the --history files; choose another name", out));
    }
  }
}

int run_plot(const PlotFlags& flags) {
  check_extension(flags.out, ".png", "--out");
  if (!flags.svg.empty()) check_extension(flags.svg, ".svg", "--svg");
  check_not_an_input(flags.out, flags.histories);
  if (!flags.svg.empty()) check_not_an_input(flags.svg, flags.histories);
  if (!flags.labels.empty() && flags.labels.size() != flags.histories.size()) {
    throw ConfigError(fmt::format("give one --label per --history ({} labels for {} histories)",
                                  flags.labels.size(), flags.histories.size()));
  }
  std::vector<NamedHistory> runs;
  for (std::size_t i = 0; i < flags.histories.size(); ++i) {
    const std::filesystem::path path = flags.histories[i];
    auto epochs = read_history_epochs(path);
    std::string label = flags.labels.empty() ? default_name(path) : flags.labels[i];
    if (flags.labels.empty()) {
      // Two histories of the same name get #1, #2 to tell them apart.
      const auto same = std::count_if(flags.histories.begin(), flags.histories.end(),
                                      [&](const std::string& h) { return default_name(h) == label; });
      if (same > 1) label += fmt::format(" #{}", i + 1);
      label += fmt::format(" ({} epochs)", epochs.size());
    }
    runs.push_back({label, std::move(epochs)});
  }
  plot_run_comparison(runs, flags.out, flags.svg);
  fmt::print("wrote {}{}\n", flags.out, flags.svg.empty() ? "" : " and " + flags.svg);
  return 0;
}

}  // namespace

Command add_plot_command(CLI::App& app) {
  auto flags = std::make_shared<PlotFlags>();
  CLI::App* cmd = app.add_subcommand("plot", "Compare the curves of several runs on one chart");
  cmd->add_option("--history", flags->histories, "History JSON of a run (repeat for each run)")
      ->required()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--label", flags->labels, "Legend label per history, in the same order")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--out", flags->out, "PNG file to write")->capture_default_str();
  cmd->add_option("--svg", flags->svg, "Also write the chart as SVG here");
  return [flags] { return run_plot(*flags); };
}

}  // namespace bpnet::cli
