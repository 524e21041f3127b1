// bpnet: train and run back-propagation networks on IDX image data sets.
// Exit codes: 0 success, 1 runtime error (bad file, divergence), 2 usage error.
#include <fmt/format.h>

#include <cstdio>
#include <new>
#include <vector>

#include "bpnet/error.hpp"
#include "commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"bpnet: back-propagation neural networks for MNIST and any IDX data set"};
  app.set_version_flag("--version", "bpnet 0.1.0");
  app.require_subcommand(1);
  std::vector<std::pair<CLI::App*, bpnet::cli::Command>> commands;
  const auto registrars = {bpnet::cli::add_train_command, bpnet::cli::add_eval_command,
                           bpnet::cli::add_predict_command, bpnet::cli::add_summary_command,
                           bpnet::cli::add_plot_command, bpnet::cli::add_show_command};
  for (const auto& add : registrars) {
    const std::size_t before = app.get_subcommands({}).size();
    bpnet::cli::Command run = add(app);
    commands.emplace_back(app.get_subcommands({})[before], std::move(run));
  }
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    for (const auto& [sub, run] : commands) known = known || sub->get_name() == argv[1];
    if (!known) {
      std::fprintf(stderr, "bpnet: error: unknown command '%s' (choose one of: train, eval, predict, summary, plot, show)\n", argv[1]);
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  try {
    for (auto& [sub, run] : commands) {
      if (sub->parsed()) return run();
    }
    return 2;
  } catch (const bpnet::ConfigError& e) {
    std::fprintf(stderr, "bpnet: error: %s\n", e.what());
    return 2;
  } catch (const bpnet::Error& e) {
    std::fprintf(stderr, "bpnet: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "bpnet: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bpnet: error: %s\n", e.what());
    return 1;
  }
}
