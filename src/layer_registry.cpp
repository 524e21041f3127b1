#include "bpnet/layer_registry.hpp"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <vector>

#include "bpnet/error.hpp"
#include "bpnet/suggest.hpp"

namespace bpnet {
namespace {

constexpr double kMaxWidth = 1 << 20;

constexpr std::array kLinearAttributes{
    LayerAttribute{"out", 0, 1, kMaxWidth, true, true, "output features (PyTorch's out_features)"}};
constexpr std::array kLeakyAttributes{
    LayerAttribute{"slope", 0.01, 0, 1, true, false, "slope for x < 0 (PyTorch's negative_slope)"}};
constexpr std::array kDropoutAttributes{
    LayerAttribute{"p", 0.5, 0, 1, false, false, "probability of zeroing an entry in training"}};
constexpr std::array kBatchNormAttributes{
    LayerAttribute{"eps", 1e-5, 1e-12, 1, true, false, "added to the variance"},
    LayerAttribute{"momentum", 0.1, 0, 1, true, false, "weight of each batch in the running statistics"}};

const std::array kTypes{
    LayerType{"Linear", kLinearAttributes, "y = x W^T + b"},
    LayerType{"ReLU", {}, "max(0, x)"},
    LayerType{"LeakyReLU", kLeakyAttributes, "x, or slope * x below 0"},
    LayerType{"GELU", {}, "x Phi(x)"},
    LayerType{"Sigmoid", {}, "1 / (1 + e^-x)"},
    LayerType{"Tanh", {}, "tanh(x)"},
    LayerType{"Dropout", kDropoutAttributes, "inverted dropout in training, identity in eval"},
    LayerType{"BatchNorm1d", kBatchNormAttributes, "per-feature normalisation over the batch"},
    LayerType{"Softmax", {}, "probabilities"},
    LayerType{"LogSoftmax", {}, "log-probabilities, for NLLLoss"},
};

const LayerAttribute* find_attribute(const LayerType& type, std::string_view name) {
  for (const LayerAttribute& a : type.attributes) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::string attribute_names(const LayerType& type) {
  if (type.attributes.empty()) return "none";
  std::vector<std::string_view> names;
  for (const LayerAttribute& a : type.attributes) names.push_back(a.name);
  return fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace

std::span<const LayerType> layer_types() { return kTypes; }

const LayerType* find_layer_type(std::string_view name) {
  for (const LayerType& type : kTypes) {
    if (type.name == name) return &type;
  }
  return nullptr;
}

double attribute(const LayerSpec& spec, std::string_view name) {
  const auto found = spec.attributes.find(name);
  if (found != spec.attributes.end()) return found->second;
  return find_attribute(*find_layer_type(spec.type), name)->default_value;
}

void check_layer_spec(const LayerSpec& spec, std::string_view where) {
  const LayerType* type = find_layer_type(spec.type);
  if (type == nullptr) {
    std::vector<std::string_view> names;
    for (const LayerType& t : kTypes) names.push_back(t.name);
    const std::string guess = nearest_name(spec.type, names);
    throw ConfigError(fmt::format("{}: unknown layer type '{}'{} (known: {})", where, spec.type,
                                  guess.empty() ? "" : fmt::format("; did you mean '{}'?", guess),
                                  fmt::join(names, ", ")));
  }
  for (const auto& [key, value] : spec.attributes) {
    const LayerAttribute* a = find_attribute(*type, key);
    if (a == nullptr) {
      throw ConfigError(fmt::format("{} ({}): unknown attribute '{}' (it takes: {})", where, spec.type, key,
                                    attribute_names(*type)));
    }
    const bool below = !(value >= a->min);  // also catches NaN
    const bool above = a->max_inclusive ? value > a->max : value >= a->max;
    if (below || above || (a->integer && value != std::floor(value))) {
      throw ConfigError(fmt::format("{} ({}): {} must be {} in [{}, {}{} (got {})", where, spec.type, key,
                                    a->integer ? "an integer" : "a number", a->min, a->max,
                                    a->max_inclusive ? "]" : ")", value));
    }
  }
  if (spec.type == "Linear" && !spec.attributes.contains("out")) {
    throw ConfigError(fmt::format("{} (Linear): needs its output size, e.g. {{\"type\": \"Linear\", \"out\": 128}}",
                                  where));
  }
}

namespace {

std::size_t whole(double value) { return static_cast<std::size_t>(value); }

}  // namespace

template <typename T>
std::unique_ptr<Layer<T>> make_layer(const LayerSpec& spec, std::size_t in) {
  const std::string& t = spec.type;
  if (t == "Linear") return std::make_unique<Linear<T>>(in, whole(attribute(spec, "out")));
  if (t == "ReLU") return std::make_unique<ReLU<T>>(in);
  if (t == "LeakyReLU") return std::make_unique<LeakyReLU<T>>(in, attribute(spec, "slope"));
  if (t == "GELU") return std::make_unique<GELU<T>>(in);
  if (t == "Sigmoid") return std::make_unique<Sigmoid<T>>(in);
  if (t == "Tanh") return std::make_unique<Tanh<T>>(in);
  if (t == "Dropout") return std::make_unique<Dropout<T>>(in, attribute(spec, "p"));
  if (t == "BatchNorm1d") {
    return std::make_unique<BatchNorm1d<T>>(in, attribute(spec, "eps"), attribute(spec, "momentum"));
  }
  if (t == "Softmax") return std::make_unique<Softmax<T>>(in);
  if (t == "LogSoftmax") return std::make_unique<LogSoftmax<T>>(in);
  throw ConfigError(fmt::format("unknown layer type '{}'", t));
}

template std::unique_ptr<Layer<float>> make_layer<float>(const LayerSpec&, std::size_t);
template std::unique_ptr<Layer<double>> make_layer<double>(const LayerSpec&, std::size_t);

}  // namespace bpnet
