// bpnet summary: a Keras-style table of a saved model's layers.
#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "bpnet/model_file.hpp"
#include "commands.hpp"

namespace bpnet::cli {
namespace {

// 109386 -> "109,386", as Keras prints parameter counts.
std::string with_thousands(std::uint64_t n) {
  std::string digits = fmt::format("{}", n);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(static_cast<std::size_t>(i), ",");
  return digits;
}

// Keras' table: each layer's output shape and parameter count, where Keras
// counts BatchNorm's running statistics as non-trainable parameters.
int run_summary(const std::string& model_path) {
  auto model = load_model(model_path);
  const ModelSpec& spec = model->spec();
  struct Row {
    std::string label, shape, params;
  };
  std::vector<Row> rows;
  std::uint64_t trainable = 0, non_trainable = 0;
  for (std::size_t i = 0; i < model->depth(); ++i) {
    const Layer<float>& layer = model->layer(i);
    std::string label = fmt::format("layer_{} ({})", i + 1, layer.type());
    for (const auto& [key, value] : layer.spec().attributes) {
      if (key != "out") label += fmt::format(" {}={}", key, value);
    }
    rows.push_back({label, fmt::format("(None, {})", layer.out_features()),
                    with_thousands(layer.parameter_count() + layer.buffer_count())});
    trainable += layer.parameter_count();
    non_trainable += layer.buffer_count();
  }
  std::size_t label_width = 28;
  for (const Row& row : rows) label_width = std::max(label_width, row.label.size() + 2);
  const std::string rule(label_width + 36, '=');
  fmt::print("Model: \"{}\"  ({} inputs from {}x{} images, normalize {}, loss {})\n", model_path, spec.inputs,
             spec.image_rows, spec.image_cols, name(spec.normalize), name(spec.loss));
  fmt::print("{}\n{:<{}}{:<20}{:>16}\n{}\n", rule, "Layer (type)", label_width, "Output Shape", "Param #", rule);
  for (const Row& row : rows) fmt::print("{:<{}}{:<20}{:>16}\n", row.label, label_width, row.shape, row.params);
  fmt::print("{}\nTotal params: {}\nTrainable params: {}\nNon-trainable params: {}\n{}\n", rule,
             with_thousands(trainable + non_trainable), with_thousands(trainable), with_thousands(non_trainable),
             rule);
  return 0;
}

}  // namespace

Command add_summary_command(CLI::App& app) {
  auto model = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("summary", "Print a saved model's layers and parameter counts");
  cmd->add_option("--model", *model, "Model file (.bpn)")->required();
  return [model] { return run_summary(*model); };
}

}  // namespace bpnet::cli
