// bpnet: train and run back-propagation networks on IDX image data sets.
// Exit codes: 0 success, 1 runtime error (bad file, divergence), 2 usage error.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "bpnet/cpu.hpp"
#include "bpnet/error.hpp"
#include "bpnet/suggest.hpp"
#include "bpnet/version.hpp"
#include "commands.hpp"

namespace {

// "--lrr" -> "unknown flag '--lrr' for 'bpnet train'; did you mean '--lr'?"
std::string unknown_flag_message(const CLI::App& command, const std::vector<std::string>& extras) {
  std::vector<std::string> names;
  for (const CLI::Option* option : command.get_options()) {
    for (const std::string& name : option->get_lnames()) names.push_back("--" + name);
  }
  const std::vector<std::string_view> candidates(names.begin(), names.end());
  for (const std::string& extra : extras) {
    if (extra.rfind("--", 0) != 0) continue;
    const std::string flag = extra.substr(0, extra.find('='));
    const std::string guess = bpnet::nearest_name(flag, candidates);
    return fmt::format("unknown flag '{}' for 'bpnet {}'{} (bpnet {} --help lists them)", flag, command.get_name(),
                       guess.empty() ? "" : fmt::format("; did you mean '{}'?", guess), command.get_name());
  }
  return fmt::format("unexpected argument '{}' for 'bpnet {}' (values follow their flag, e.g. --epochs 5)",
                     extras.empty() ? "" : extras.front(), command.get_name());
}

// CLI11's message, made one line.
std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bpnet: back-propagation neural networks for MNIST and any IDX data set"};
  app.set_version_flag("--version", fmt::format("bpnet {}", bpnet::kVersion));
  app.require_subcommand(1);
  // A flag given twice takes its last value, so scripts can append overrides
  // (scripts/quickstart.sh --data DIR). Options that take lists say so.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  std::vector<std::pair<CLI::App*, bpnet::cli::Command>> commands;
  const auto registrars = {bpnet::cli::add_train_command, bpnet::cli::add_eval_command,
                           bpnet::cli::add_predict_command, bpnet::cli::add_summary_command,
                           bpnet::cli::add_plot_command, bpnet::cli::add_show_command,
                           bpnet::cli::add_export_command, bpnet::cli::add_import_command,
                           bpnet::cli::add_lr_find_command, bpnet::cli::add_serve_command,
                           bpnet::cli::add_augment_command};
  for (const auto& add : registrars) {
    const std::size_t before = app.get_subcommands({}).size();
    bpnet::cli::Command run = add(app);
    commands.emplace_back(app.get_subcommands({})[before], std::move(run));
  }
  if (argc > 1 && argv[1][0] != '-') {
    std::vector<std::string_view> names;
    for (const auto& [sub, run] : commands) names.push_back(sub->get_name());
    if (std::find(names.begin(), names.end(), argv[1]) == names.end()) {
      const std::string guess = bpnet::nearest_name(argv[1], names);
      std::fprintf(stderr, "bpnet: error: unknown command '%s'%s (choose one of: %s)\n", argv[1],
                   guess.empty() ? "" : fmt::format("; did you mean '{}'?", guess).c_str(),
                   fmt::format("{}", fmt::join(names, ", ")).c_str());
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    const CLI::App* command = nullptr;
    for (const auto& [sub, run] : commands) {
      if (argc > 1 && sub->get_name() == argv[1]) command = sub;
    }
    const bool unknown = dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr && command != nullptr;
    const std::string message = unknown ? unknown_flag_message(*command, command->remaining()) : one_line(e.what());
    std::fprintf(stderr, "bpnet: error: %s\n", message.c_str());
    return 2;
  }
  try {
    // A bad BPNET_MAX_ISA is reported now, not at the first product.
    static_cast<void>(bpnet::kernel_instruction_set());
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
  } catch (const std::filesystem::filesystem_error& e) {
    // Say which path and why, without the library's "filesystem error:" text.
    std::fprintf(stderr, "bpnet: error: cannot access %s: %s\n", e.path1().c_str(), e.code().message().c_str());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "bpnet: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bpnet: error: %s\n", e.what());
    return 1;
  }
}
