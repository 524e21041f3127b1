// The vocabulary shared by layers, losses, model files and the command line:
// each choice is an enum with one spelling, used everywhere (PyTorch's words).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bpnet {

// Hidden-layer non-linearity.
enum class Activation { sigmoid, tanh, relu };
// What the last layer applies to its logits.
enum class Output { softmax, log_softmax, linear };
// nll: on log-probabilities (after log_softmax). cross_entropy: on logits,
// softmax fused in. mse: mean squared error against the one-hot target.
enum class LossKind { nll, cross_entropy, mse };
// unit: x/255. torch: (x/255 - 0.5) / 0.5, i.e. in [-1, 1].
enum class Normalize { unit, torch };
// Weight initialisation. torch: PyTorch's nn.Linear default, U(+-1/sqrt(in))
// for weights and biases. xavier: Glorot uniform, zero bias (Keras default).
// he: Kaiming uniform for ReLU, zero bias.
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

// Everything needed to rebuild a trained network and feed it: what a model
// file stores besides the parameters.
struct ModelSpec {
  std::vector<std::size_t> layer_sizes{784, 128, 64, 10};  // input, hidden..., classes
  Activation activation = Activation::relu;
  Output output = Output::log_softmax;
  LossKind loss = LossKind::nll;
  Normalize normalize = Normalize::torch;
  // The image shape the input was flattened from: set from the training data,
  // kept in model files so pictures can be drawn; rows * cols == inputs().
  std::size_t image_rows = 28;
  std::size_t image_cols = 28;

  std::size_t inputs() const { return layer_sizes.front(); }
  std::size_t classes() const { return layer_sizes.back(); }
  // Weights and biases of all Linear layers together.
  std::uint64_t parameter_count() const;
  // Throws ConfigError if the combination cannot work (nll without log_softmax...).
  void validate() const;
};

// Parses "784,128,64,10"; throws ConfigError on anything else.
std::vector<std::size_t> parse_layer_sizes(std::string_view text);
std::string format_layer_sizes(const std::vector<std::size_t>& sizes);

}  // namespace bpnet
