// The bpnet subcommands. Each add_* registers its options on the app and
// returns the function that runs it once the command line is parsed; that
// function returns the exit code (0) or throws a bpnet::Error.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace bpnet::cli {

using Command = std::function<int()>;

Command add_train_command(CLI::App& app);
Command add_eval_command(CLI::App& app);
Command add_predict_command(CLI::App& app);
Command add_summary_command(CLI::App& app);
Command add_plot_command(CLI::App& app);
Command add_show_command(CLI::App& app);
Command add_export_command(CLI::App& app);
Command add_import_command(CLI::App& app);
Command add_lr_find_command(CLI::App& app);
Command add_serve_command(CLI::App& app);
Command add_augment_command(CLI::App& app);

// Labels are bytes: what the reader accepts before the model is known.
inline constexpr std::size_t kAnyLabel = 256;

// Where data sets live unless --data says otherwise: $BPNET_DATA if set (as
// scripts/fetch-mnist.sh honours it), else data/mnist.
std::string default_data_dir();

}  // namespace bpnet::cli
