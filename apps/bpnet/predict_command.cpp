// bpnet predict: label, prediction and class probabilities of test images.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "bpnet/preprocess.hpp"
#include "bpnet/error.hpp"
#include "bpnet/evaluate.hpp"
#include "bpnet/loss.hpp"
#include "bpnet/model_file.hpp"
#include "bpnet/predictor.hpp"
#include "cli_checks.hpp"
#include "commands.hpp"

namespace bpnet::cli {
namespace {

struct PredictFlags {
  std::string model;
  std::string data = default_data_dir();
  std::vector<std::size_t> indices;
  bool json = false;
};

int run_predict(const PredictFlags& flags) {
  auto model = load_model(flags.model);
  const ModelSpec& spec = model->spec();
  const std::size_t classes = model->classes();
  const Dataset test = load_dataset(flags.data, Split::test, kAnyLabel);
  check_labels(test, classes);
  if (test.features() != model->inputs()) {
    throw ConfigError(fmt::format("{} takes {}x{} images but the test images in {} are {}x{}", flags.model,
                                  spec.image_rows, spec.image_cols, flags.data, test.rows, test.cols));
  }
  std::vector<std::uint32_t> order;
  for (std::size_t index : flags.indices) {
    if (index >= test.count) {
      throw ConfigError(fmt::format("--index {} is out of range: the test set has images 0 to {}",
                                    index, test.count - 1));
    }
    order.push_back(static_cast<std::uint32_t>(index));
  }
  Matrix<float> x(order.size(), test.features());
  std::vector<std::uint8_t> labels(order.size());
  gather_batch(test, order, pixel_scale(spec.normalize), x, labels);
  Predictor predictor(*model);
  const ConstMatrixView<float> out = predictor.forward(x);
  for (std::size_t r = 0; r < order.size(); ++r) {
    const auto p = probabilities(out.row(r), classes, model->output_kind());
    const std::size_t predicted = argmax(out.row(r), classes);
    if (flags.json) {
      // One object per line, so that a script can read them one by one.
      const nlohmann::json line = {{"index", order[r]},       {"label", labels[r]},
                                   {"predicted", predicted},  {"correct", predicted == labels[r]},
                                   {"confidence", p[predicted]}, {"probabilities", p}};
      fmt::print("{}\n", line.dump());
      continue;
    }
    fmt::print("image {}: label {}  predicted {}  {}\n", order[r], labels[r], predicted,
               predicted == labels[r] ? "correct" : "WRONG");
    std::string row = "  probabilities:";
    for (std::size_t c = 0; c < p.size(); ++c) row += fmt::format(" {}:{:.4f}", c, p[c]);
    fmt::print("{}\n", row);
  }
  return 0;
}

}  // namespace

Command add_predict_command(CLI::App& app) {
  auto flags = std::make_shared<PredictFlags>();
  CLI::App* cmd = app.add_subcommand("predict", "Predict test-set images by index");
  cmd->add_option("--model", flags->model, "Model file (.bpn)")->required();
  cmd->add_option("--data", flags->data, "Folder with the IDX files")->capture_default_str();
  cmd->add_option("--index", flags->indices, "Test image indices (0-based), one or more")
      ->required()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->check(not_negative());
  cmd->add_flag("--json", flags->json, "One JSON object per image, one per line");
  return [flags] { return run_predict(*flags); };
}

}  // namespace bpnet::cli
