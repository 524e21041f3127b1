#include "bpnet/spec.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <utility>

#include "bpnet/error.hpp"

namespace bpnet {
namespace {

template <typename E, std::size_t N>
using NameTable = std::array<std::pair<E, std::string_view>, N>;

constexpr NameTable<Activation, 3> kActivations{
    {{Activation::sigmoid, "sigmoid"}, {Activation::tanh, "tanh"}, {Activation::relu, "relu"}}};
constexpr NameTable<Output, 3> kOutputs{{{Output::softmax, "softmax"},
                                         {Output::log_softmax, "log-softmax"},
                                         {Output::linear, "linear"}}};
constexpr NameTable<LossKind, 3> kLosses{{{LossKind::nll, "nll"},
                                          {LossKind::cross_entropy, "cross-entropy"},
                                          {LossKind::mse, "mse"}}};
constexpr NameTable<Normalize, 2> kNormalizations{
    {{Normalize::unit, "unit"}, {Normalize::torch, "torch"}}};
constexpr NameTable<Init, 3> kInits{{{Init::torch, "torch"}, {Init::xavier, "xavier"}, {Init::he, "he"}}};

template <typename E, std::size_t N>
std::string_view lookup_name(const NameTable<E, N>& table, E value) {
  for (const auto& [e, text] : table) {
    if (e == value) return text;
  }
  return "?";
}

template <typename E, std::size_t N>
E lookup_value(const NameTable<E, N>& table, std::string_view text, std::string_view what) {
  std::string choices;
  for (const auto& [e, candidate] : table) {
    if (candidate == text) return e;
    choices += choices.empty() ? "" : ", ";
    choices += candidate;
  }
  throw ConfigError(fmt::format("unknown {} '{}' (choose one of: {})", what, text, choices));
}

constexpr std::uint64_t kMaxParameters = std::uint64_t{1} << 30;

}  // namespace

std::string_view name(Activation v) { return lookup_name(kActivations, v); }
std::string_view name(Output v) { return lookup_name(kOutputs, v); }
std::string_view name(LossKind v) { return lookup_name(kLosses, v); }
std::string_view name(Normalize v) { return lookup_name(kNormalizations, v); }
std::string_view name(Init v) { return lookup_name(kInits, v); }

Activation parse_activation(std::string_view t) { return lookup_value(kActivations, t, "activation"); }
Output parse_output(std::string_view t) { return lookup_value(kOutputs, t, "output"); }
LossKind parse_loss(std::string_view t) { return lookup_value(kLosses, t, "loss"); }
Normalize parse_normalize(std::string_view t) { return lookup_value(kNormalizations, t, "normalization"); }
Init parse_init(std::string_view t) { return lookup_value(kInits, t, "initialisation"); }

std::uint64_t ModelSpec::parameter_count() const {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i + 1 < layer_sizes.size(); ++i) {
    // Sizes are checked to be at most 2^20 first, so nothing here can wrap.
    total += std::uint64_t{layer_sizes[i]} * layer_sizes[i + 1] + layer_sizes[i + 1];
  }
  return total;
}

void ModelSpec::validate() const {
  if (layer_sizes.size() < 2 || layer_sizes.size() > 64) {
    throw ConfigError("layers need 2 to 64 sizes (input, hidden..., classes), e.g. 784,128,10");
  }
  for (std::size_t size : layer_sizes) {
    if (size == 0 || size > (1u << 20)) {
      throw ConfigError(fmt::format("layer size {} is out of range [1, 1048576]", size));
    }
  }
  if (parameter_count() > kMaxParameters) {
    throw ConfigError(fmt::format("{} parameters is more than the {} bpnet supports",
                                  parameter_count(), kMaxParameters));
  }
  if (classes() < 2 || classes() > 256) {
    throw ConfigError("the last layer needs 2 to 256 classes (IDX labels are bytes)");
  }
  if (loss == LossKind::nll && output != Output::log_softmax) {
    throw ConfigError("loss 'nll' takes log-probabilities: use --output log-softmax");
  }
  if (loss == LossKind::cross_entropy && output == Output::log_softmax) {
    throw ConfigError(
        "loss 'cross-entropy' takes logits (softmax fused in): use --output softmax or linear, "
        "or --loss nll with log-softmax");
  }
}

std::vector<std::size_t> parse_layer_sizes(std::string_view text) {
  std::vector<std::size_t> sizes;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view part = text.substr(start, comma - start);
    std::size_t value = 0;
    const auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (part.empty() || error != std::errc() || end != part.data() + part.size() || value == 0) {
      throw ConfigError(fmt::format(
          "--layers '{}': expected positive sizes separated by commas, e.g. 784,128,64,10", text));
    }
    sizes.push_back(value);
    start = comma + 1;
  }
  if (sizes.size() < 2) {
    throw ConfigError(fmt::format("--layers '{}': need at least input and output sizes", text));
  }
  return sizes;
}

std::string format_layer_sizes(const std::vector<std::size_t>& sizes) {
  return fmt::format("{}", fmt::join(sizes, ","));
}

}  // namespace bpnet
