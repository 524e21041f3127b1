// bpnet eval: test-set accuracy, loss, per-class accuracy and confusion matrix.
#include <fmt/format.h>

#include "bpnet/evaluate.hpp"
#include "bpnet/history.hpp"
#include "bpnet/model_file.hpp"
#include "commands.hpp"
#include "report.hpp"

namespace bpnet::cli {
namespace {

struct EvalFlags {
  std::string model;
  std::string data = default_data_dir();
  bool json = false;
};

int run_eval(const EvalFlags& flags) {
  auto model = load_model(flags.model);
  // Any byte is a label to the reader; whether it fits the model is checked
  // next, with a message about the model rather than the file.
  const Dataset test = load_dataset(flags.data, Split::test, kAnyLabel);
  const Evaluation result = evaluate(*model, test);
  if (flags.json) {
    fmt::print("{}\n", evaluation_json(result));
  } else {
    fmt::print("{}: {}\n{}", flags.model, accuracy_summary(result), evaluation_tables(result));
  }
  return 0;
}

}  // namespace

Command add_eval_command(CLI::App& app) {
  auto flags = std::make_shared<EvalFlags>();
  CLI::App* cmd = app.add_subcommand("eval", "Evaluate a saved model on the test set");
  cmd->add_option("--model", flags->model, "Model file (.bpn)")->required();
  cmd->add_option("--data", flags->data, "Folder with the IDX files")->capture_default_str();
  cmd->add_flag("--json", flags->json, "Print one JSON object instead of tables");
  return [flags] { return run_eval(*flags); };
}

}  // namespace bpnet::cli
