// The vocabulary shared by layers, losses, model files and the command line:
// each choice is an enum with one spelling, used everywhere (PyTorch's words),
// and a model described as data: an input size and an ordered list of layers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace bpnet {

// Hidden-layer non-linearity of the --layers shorthand.
enum class Activation { sigmoid, tanh, relu, leaky_relu, gelu };
// What the last layer of the shorthand applies to its logits.
enum class Output { softmax, log_softmax, linear };
// nll: on log-probabilities (after LogSoftmax). cross_entropy: on logits,
// softmax fused in. mse: mean squared error against the one-hot target.
enum class LossKind { nll, cross_entropy, mse };
// unit: x/255. torch: (x/255 - 0.5) / 0.5, i.e. in [-1, 1].
enum class Normalize { unit, torch };
// Weight initialisation of Linear layers. torch: PyTorch's nn.Linear default,
// U(+-1/sqrt(in)) for weights and biases. xavier: Glorot uniform, zero bias
// (Keras default). he: Kaiming uniform for ReLU, zero bias.
enum class Init { torch, xavier, he };

std::string_view name(Activation);
std::string_view name(Output);
std::string_view name(LossKind);
std::string_view name(Normalize);
std::string_view name(Init);

// Parsers throw ConfigError naming the accepted spellings.
Activation parse_activation(std::string_view);
Output parse_output(std::string_view);
LossKind parse_loss(std::string_view);
Normalize parse_normalize(std::string_view);
Init parse_init(std::string_view);

// One entry of a layer list: a PyTorch class name and its numeric attributes,
// e.g. {"Linear", {{"out", 128}}} or {"Dropout", {{"p", 0.2}}}. Attributes
// left out take the registry's defaults (layer_registry.hpp).
struct LayerSpec {
  std::string type;
  std::map<std::string, double, std::less<>> attributes;

  bool operator==(const LayerSpec&) const = default;
};

// Everything needed to rebuild a trained model and feed it: what a model file
// stores besides the parameters and buffers.
struct ModelSpec {
  std::size_t inputs = 0;  // features per image; 0 until set from the data
  std::vector<LayerSpec> layers;
  LossKind loss = LossKind::nll;
  Normalize normalize = Normalize::torch;
  // The image shape the input was flattened from: set from the training data,
  // kept in model files so pictures can be drawn; rows * cols == inputs.
  std::size_t image_rows = 0;
  std::size_t image_cols = 0;

  // Output width of each layer, in order (shapes inferred from inputs).
  // Call validate() first.
  std::vector<std::size_t> widths() const;
  std::size_t classes() const { return widths().back(); }
  // Trainable parameters and non-trained buffers of all layers together.
  std::uint64_t parameter_count() const;
  std::uint64_t buffer_count() const;
  // "784 -> Linear(128) -> ReLU -> Linear(10) -> LogSoftmax", for banners.
  std::string describe() const;
  // Throws ConfigError naming the offending entry ("layer 3 (Dropout): ...")
  // if the list cannot work: unknown type or attribute, value out of range,
  // no Linear, too many classes or parameters, a loss that does not fit the
  // last layer (nll needs LogSoftmax; cross-entropy takes logits).
  void validate() const;
  bool operator==(const ModelSpec&) const = default;
};

// The --layers/--activation/--output shorthand: Linear layers of these
// sizes, each hidden one followed by [BatchNorm1d], the activation and
// [Dropout(p)], and the output layer's function at the end.
struct LayerShorthand {
  std::vector<std::size_t> sizes{784, 128, 64, 10};  // input, hidden..., classes
  Activation activation = Activation::relu;
  Output output = Output::log_softmax;
  double dropout = 0;      // Dropout after every hidden layer when > 0, in [0, 1)
  bool batchnorm = false;  // BatchNorm1d after every hidden Linear
};
// The layer list the shorthand stands for; sizes[0] becomes ModelSpec::inputs.
ModelSpec expand(const LayerShorthand& shorthand, LossKind loss, Normalize normalize);

// Reads a layer list from a JSON file (--arch), e.g.
//   [{"type": "Linear", "out": 256}, {"type": "ReLU"}, {"type": "Linear", "out": 10},
//    {"type": "LogSoftmax"}]
// Throws ConfigError naming the file and the offending entry. The list is
// checked fully once the input size is known (ModelSpec::validate).
std::vector<LayerSpec> read_layer_list(const std::filesystem::path& path);

// Parses "784,128,64,10"; throws ConfigError on anything else.
std::vector<std::size_t> parse_layer_sizes(std::string_view text);
std::string format_layer_sizes(const std::vector<std::size_t>& sizes);

}  // namespace bpnet
