// The registry of layer types: each PyTorch name with its attributes (their
// defaults and valid ranges) and the factory that builds it. Model specs,
// model files and --arch files all go through it, so a new layer type is
// one entry here plus its class.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "bpnet/layers.hpp"
#include "bpnet/spec.hpp"

namespace bpnet {

// One numeric attribute of a layer type and the values it may take.
struct LayerAttribute {
  std::string_view name;
  double default_value;
  double min, max;           // valid range...
  bool max_inclusive = true;  // ...closed at max unless this is false
  bool integer = false;
  std::string_view meaning;
};

struct LayerType {
  std::string_view name;                      // PyTorch class name
  std::span<const LayerAttribute> attributes;
  std::string_view meaning;
};

// Every registered type, in a fixed order.
std::span<const LayerType> layer_types();
// The type called `name`, or null.
const LayerType* find_layer_type(std::string_view name);

// The value of `attribute` in `spec`, or its default. The spec must have been
// checked by check_layer_spec.
double attribute(const LayerSpec& spec, std::string_view attribute);

// Throws ConfigError, prefixed with `where` ("layer 3"), if the type is
// unknown (suggesting the nearest name) or an attribute is unknown, not an
// integer where one is needed, or out of range.
void check_layer_spec(const LayerSpec& spec, std::string_view where);

// Builds the layer `spec` describes for inputs of width `in`. The spec must
// have been checked by check_layer_spec.
template <typename T>
std::unique_ptr<Layer<T>> make_layer(const LayerSpec& spec, std::size_t in);

}  // namespace bpnet
