// A trained model seen layer by layer, as the exporters need it: each
// layer's type and attributes beside the slices of the flat parameter and
// buffer arrays that belong to it (Linear: weight (out, in) row-major, then
// bias; BatchNorm1d: weight, bias | running mean, running variance).
#pragma once

#include <span>
#include <vector>

#include "bpnet/model.hpp"

namespace bpnet::interop {

struct LayerView {
  LayerSpec spec;
  std::size_t in = 0, out = 0;
  std::span<const float> params;
  std::span<const float> buffers;

  double attribute(const char* key) const { return spec.attributes.at(key); }
};

inline std::vector<LayerView> layer_views(const Model<float>& model) {
  std::vector<LayerView> views;
  std::size_t p = 0, b = 0;
  for (std::size_t i = 0; i < model.depth(); ++i) {
    const Layer<float>& layer = model.layer(i);
    views.push_back({layer.spec(), layer.in_features(), layer.out_features(),
                     model.parameters().subspan(p, layer.parameter_count()),
                     model.buffers().subspan(b, layer.buffer_count())});
    p += layer.parameter_count();
    b += layer.buffer_count();
  }
  return views;
}

}  // namespace bpnet::interop
