// bpnet eval: test-set accuracy, loss, per-class accuracy and confusion matrix.
#include <fmt/format.h>

#include <algorithm>

#include "bpnet/atomic_file.hpp"
#include "bpnet/evaluate.hpp"
#include "bpnet/loss.hpp"
#include "bpnet/predictor.hpp"
#include "bpnet/preprocess.hpp"
#include "bpnet/history.hpp"
#include "bpnet/model_file.hpp"
#include "cli_checks.hpp"
#include "commands.hpp"
#include "report.hpp"

namespace bpnet::cli {
namespace {

struct EvalFlags {
  std::string model;
  std::string data = default_data_dir();
  bool json = false;
  std::string probabilities;  // CSV to write, or empty
};

// One line per test image: index, label, predicted class, then each class's
// probability with 9 significant digits (enough to read a float back exactly):
// what other runtimes' outputs are compared with (tests/node).
void write_probabilities(const std::string& path, const Model<float>& model, const Dataset& test) {
  const std::size_t classes = model.classes();
  std::string csv = "index,label,predicted";
  for (std::size_t c = 0; c < classes; ++c) csv += fmt::format(",p{}", c);
  csv += "\n";
  Predictor predictor(model);
  constexpr std::size_t kBatch = 1000;
  for (std::size_t start = 0; start < test.count; start += kBatch) {
    const std::size_t n = std::min(kBatch, test.count - start);
    std::vector<std::uint32_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<std::uint32_t>(start + i);
    Matrix<float> x(n, test.features());
    std::vector<std::uint8_t> labels(n);
    gather_batch(test, order, pixel_scale(model.spec().normalize), x, labels);
    const ConstMatrixView<float> out = predictor.forward(x);
    for (std::size_t r = 0; r < n; ++r) {
      const auto p = probabilities(out.row(r), classes, model.output_kind());
      csv += fmt::format("{},{},{},{:.9g}\n", start + r, labels[r], argmax(out.row(r), classes), fmt::join(p, ","));
    }
  }
  write_file_atomically(path, csv);
}

int run_eval(const EvalFlags& flags) {
  if (!flags.probabilities.empty()) {
    check_extension(flags.probabilities, ".csv", "--probabilities");
    prepare_output_file(flags.probabilities);
  }
  auto model = load_model(flags.model);
  // Any byte is a label to the reader; whether it fits the model is checked
  // next, with a message about the model rather than the file.
  const Dataset test = load_dataset(flags.data, Split::test, kAnyLabel);
  const Evaluation result = evaluate(*model, test);
  if (!flags.probabilities.empty()) write_probabilities(flags.probabilities, *model, test);
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
  cmd->add_option("--probabilities", flags->probabilities,
                  "Also write every test image's class probabilities to this CSV file");
  return [flags] { return run_eval(*flags); };
}

}  // namespace bpnet::cli
