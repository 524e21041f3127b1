#include "bpnet/spec.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <memory>
#include <utility>

#include "bpnet/error.hpp"
#include "bpnet/layer_registry.hpp"

namespace bpnet {
namespace {

template <typename E, std::size_t N>
using NameTable = std::array<std::pair<E, std::string_view>, N>;

constexpr NameTable<Activation, 5> kActivations{{{Activation::sigmoid, "sigmoid"},
                                                 {Activation::tanh, "tanh"},
                                                 {Activation::relu, "relu"},
                                                 {Activation::leaky_relu, "leaky-relu"},
                                                 {Activation::gelu, "gelu"}}};
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

namespace {

constexpr std::size_t kMaxLayers = 256;
constexpr std::size_t kMaxWidth = std::size_t{1} << 20;

// Sums f(layer) over the layers built for the spec's inputs; the layers
// themselves are the one place that knows their sizes.
template <typename F>
std::uint64_t sum_over_layers(const ModelSpec& spec, F f) {
  std::uint64_t total = 0;
  std::size_t width = spec.inputs;
  for (const LayerSpec& layer_spec : spec.layers) {
    const auto layer = make_layer<float>(layer_spec, width);
    total += f(*layer);
    width = layer->out_features();
  }
  return total;
}

std::string_view activation_layer(Activation a) {
  switch (a) {
    case Activation::sigmoid: return "Sigmoid";
    case Activation::tanh: return "Tanh";
    case Activation::relu: return "ReLU";
    case Activation::leaky_relu: return "LeakyReLU";
    case Activation::gelu: return "GELU";
  }
  return "?";
}

}  // namespace

std::vector<std::size_t> ModelSpec::widths() const {
  std::vector<std::size_t> result;
  std::size_t width = inputs;
  for (const LayerSpec& layer : layers) {
    if (layer.type == "Linear") width = static_cast<std::size_t>(attribute(layer, "out"));
    result.push_back(width);
  }
  return result;
}

std::uint64_t ModelSpec::parameter_count() const {
  return sum_over_layers(*this, [](const Layer<float>& l) { return l.parameter_count(); });
}

std::uint64_t ModelSpec::buffer_count() const {
  return sum_over_layers(*this, [](const Layer<float>& l) { return l.buffer_count(); });
}

std::string ModelSpec::describe() const {
  std::string text = fmt::format("{}", inputs);
  for (const LayerSpec& layer : layers) {
    text += fmt::format(" -> {}", layer.type);
    if (!layer.attributes.empty()) {
      std::vector<std::string> values;
      for (const auto& [key, value] : layer.attributes) {
        values.push_back(key == "out" ? fmt::format("{}", value) : fmt::format("{}={}", key, value));
      }
      text += fmt::format("({})", fmt::join(values, ", "));
    }
  }
  return text;
}

void ModelSpec::validate() const {
  if (inputs == 0 || inputs > kMaxWidth) {
    throw ConfigError(fmt::format("the input size {} is out of range [1, {}]", inputs, kMaxWidth));
  }
  if (layers.empty() || layers.size() > kMaxLayers) {
    throw ConfigError(fmt::format("a model needs 1 to {} layers (got {})", kMaxLayers, layers.size()));
  }
  bool has_linear = false;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    check_layer_spec(layers[i], fmt::format("layer {}", i + 1));
    has_linear = has_linear || layers[i].type == "Linear";
  }
  if (!has_linear) throw ConfigError("the layer list has no Linear layer, so nothing can be learnt");
  if (parameter_count() > kMaxParameters) {
    throw ConfigError(fmt::format("{} parameters is more than the {} bpnet supports", parameter_count(),
                                  kMaxParameters));
  }
  const std::size_t c = classes();
  if (c < 2 || c > 256) {
    throw ConfigError(fmt::format(
        "the last layer has {} outputs; it needs 2 to 256, one per class (IDX labels are bytes)", c));
  }
  const std::string& last = layers.back().type;
  const std::string where = fmt::format("layer {} ({})", layers.size(), last);
  if (loss == LossKind::nll && last != "LogSoftmax") {
    throw ConfigError(fmt::format(
        "{}: loss 'nll' takes log-probabilities, so the last layer must be LogSoftmax (--output log-softmax)",
        where));
  }
  if (loss == LossKind::cross_entropy && last == "LogSoftmax") {
    throw ConfigError(fmt::format(
        "{}: loss 'cross-entropy' takes logits (softmax fused in): end with Softmax or Linear "
        "(--output softmax or linear), or use --loss nll",
        where));
  }
}

ModelSpec expand(const LayerShorthand& shorthand, LossKind loss, Normalize normalize) {
  const auto& sizes = shorthand.sizes;
  if (sizes.size() < 2 || sizes.size() > 64) {
    throw ConfigError("--layers needs 2 to 64 sizes (input, hidden..., classes), e.g. 784,128,10");
  }
  if (!(shorthand.dropout >= 0 && shorthand.dropout < 1)) {
    throw ConfigError(fmt::format("--dropout must be in [0, 1) (got {})", shorthand.dropout));
  }
  ModelSpec spec;
  spec.inputs = sizes.front();
  spec.loss = loss;
  spec.normalize = normalize;
  for (std::size_t i = 1; i < sizes.size(); ++i) {
    spec.layers.push_back({"Linear", {{"out", static_cast<double>(sizes[i])}}});
    if (i + 1 < sizes.size()) {
      if (shorthand.batchnorm) spec.layers.push_back({"BatchNorm1d", {}});
      spec.layers.push_back({std::string(activation_layer(shorthand.activation)), {}});
      if (shorthand.dropout > 0) spec.layers.push_back({"Dropout", {{"p", shorthand.dropout}}});
    } else if (shorthand.output == Output::softmax) {
      spec.layers.push_back({"Softmax", {}});
    } else if (shorthand.output == Output::log_softmax) {
      spec.layers.push_back({"LogSoftmax", {}});
    }
  }
  return spec;
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
