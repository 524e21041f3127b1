// bpnet plot: several runs' curves on one chart, e.g. 5, 15 and 30 epochs.
#include <fmt/format.h>

#include "bpnet/error.hpp"
#include "bpnet/history.hpp"
#include "bpnet/plots.hpp"
#include "commands.hpp"

namespace bpnet::cli {
namespace {

struct PlotFlags {
  std::vector<std::string> histories;
  std::vector<std::string> labels;
  std::string out = "compare.png";
  std::string svg;
};

int run_plot(const PlotFlags& flags) {
  if (!flags.labels.empty() && flags.labels.size() != flags.histories.size()) {
    throw ConfigError(fmt::format("give one --label per --history ({} labels for {} histories)",
                                  flags.labels.size(), flags.histories.size()));
  }
  std::vector<NamedHistory> runs;
  for (std::size_t i = 0; i < flags.histories.size(); ++i) {
    const std::filesystem::path path = flags.histories[i];
    auto epochs = read_history_epochs(path);
    const std::string label = flags.labels.empty()
                                  ? fmt::format("{} ({} epochs)", path.stem().string(), epochs.size())
                                  : flags.labels[i];
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
