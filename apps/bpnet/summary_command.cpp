// bpnet summary: a Keras-style table of a saved model's layers.
#include <fmt/format.h>

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

int run_summary(const std::string& model_path) {
  auto network = load_model(model_path);
  const ModelSpec& spec = network->spec();
  const std::string rule(64, '=');
  fmt::print("Model: \"{}\"  ({} inputs from {}x{} images, normalize {}, loss {})\n", model_path,
             spec.inputs(), spec.image_rows, spec.image_cols, name(spec.normalize), name(spec.loss));
  fmt::print("{}\n{:<28}{:<20}{:>16}\n{}\n", rule, "Layer (type)", "Output Shape", "Param #", rule);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < network->depth(); ++i) {
    const Layer<float>& layer = network->layer(i);
    fmt::print("{:<28}{:<20}{:>16}\n", fmt::format("layer_{} ({})", i + 1, layer.type()),
               fmt::format("(None, {})", layer.out_features()), with_thousands(layer.parameter_count()));
    total += layer.parameter_count();
  }
  fmt::print("{}\nTotal params: {}\nTrainable params: {}\nNon-trainable params: 0\n{}\n", rule,
             with_thousands(total), with_thousands(total), rule);
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
