// Model -> ONNX ModelProto, built with the generated protobuf classes of
// Debian's libonnx-dev and checked by ONNX's own checker before it is
// written. One node (or a short chain) per layer; see docs/interop.md.
#include <fmt/format.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <numbers>

#include "bpnet/atomic_file.hpp"
#include "bpnet/error.hpp"
#include "bpnet/onnx.hpp"
#include "bpnet/preprocess.hpp"
#include "bpnet/version.hpp"
#include "layer_views.hpp"

namespace bpnet {
namespace {

// Appends nodes to a graph, each reading the previous one's output.
class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto& graph) : graph_(graph) {}

  const std::string& current() const { return current_; }

  // Adds `op` reading the current tensor (and `extra_inputs`), making its
  // output the current tensor.
  onnx::NodeProto& node(const std::string& op, std::initializer_list<std::string> extra_inputs = {}) {
    onnx::NodeProto& n = *graph_.add_node();
    const std::string base = fmt::format("{}_{}", op, graph_.node_size() - 1);
    n.set_name(base);
    n.set_op_type(op);
    n.add_input(current_);
    for (const std::string& input : extra_inputs) n.add_input(input);
    current_ = base + "_out";
    n.add_output(current_);
    return n;
  }

  // A float32 initializer; returns its name.
  std::string constant(const std::string& name, std::initializer_list<std::int64_t> dims, std::span<const float> values) {
    onnx::TensorProto& t = *graph_.add_initializer();
    t.set_name(name);
    t.set_data_type(onnx::TensorProto::FLOAT);
    for (std::int64_t d : dims) t.add_dims(d);
    t.set_raw_data(values.data(), values.size_bytes());  // little-endian, as ONNX requires
    return name;
  }
  std::string scalar(const std::string& name, float value) { return constant(name, {}, std::span(&value, 1)); }

  void rename_current(std::string name) {
    graph_.mutable_node(graph_.node_size() - 1)->set_output(0, name);
    current_ = std::move(name);
  }

 private:
  onnx::GraphProto& graph_;
  std::string current_ = "input";
};

void set_float(onnx::NodeProto& node, const char* name, float value) {
  onnx::AttributeProto& a = *node.add_attribute();
  a.set_name(name);
  a.set_type(onnx::AttributeProto::FLOAT);
  a.set_f(value);
}

void set_int(onnx::NodeProto& node, const char* name, std::int64_t value) {
  onnx::AttributeProto& a = *node.add_attribute();
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INT);
  a.set_i(value);
}

void add_layer(GraphBuilder& g, const interop::LayerView& layer, std::size_t index) {
  const std::string& type = layer.spec.type;
  const std::string prefix = fmt::format("layer{}", index);
  const auto in = static_cast<std::int64_t>(layer.in), out = static_cast<std::int64_t>(layer.out);
  if (type == "Linear") {
    const std::string w = g.constant(prefix + ".weight", {out, in}, layer.params.first(layer.out * layer.in));
    const std::string b = g.constant(prefix + ".bias", {out}, layer.params.subspan(layer.out * layer.in));
    set_int(g.node("Gemm", {w, b}), "transB", 1);
  } else if (type == "BatchNorm1d") {
    const std::size_t c = layer.out;
    const std::string scale = g.constant(prefix + ".weight", {out}, layer.params.first(c));
    const std::string bias = g.constant(prefix + ".bias", {out}, layer.params.subspan(c));
    const std::string mean = g.constant(prefix + ".running_mean", {out}, layer.buffers.first(c));
    const std::string var = g.constant(prefix + ".running_var", {out}, layer.buffers.subspan(c));
    set_float(g.node("BatchNormalization", {scale, bias, mean, var}), "epsilon",
              static_cast<float>(layer.attribute("eps")));
  } else if (type == "ReLU") {
    g.node("Relu");
  } else if (type == "LeakyReLU") {
    set_float(g.node("LeakyRelu"), "alpha", static_cast<float>(layer.attribute("slope")));
  } else if (type == "Sigmoid" || type == "Tanh") {
    g.node(type);
  } else if (type == "GELU") {
    // Opset 13 has no Gelu (it came with opset 20): x * 0.5 * (1 + erf(x / sqrt 2)).
    const std::string x = g.current();
    g.node("Mul", {g.scalar(prefix + ".inv_sqrt2", static_cast<float>(std::numbers::sqrt2 / 2))});
    g.node("Erf");
    g.node("Add", {g.scalar(prefix + ".one", 1.0f)});
    g.node("Mul", {x});
    g.node("Mul", {g.scalar(prefix + ".half", 0.5f)});
  } else if (type == "Softmax" || type == "LogSoftmax") {
    set_int(g.node(type), "axis", 1);
  } else if (type == "Dropout") {
    // The identity in eval mode: nothing to export.
  } else {
    throw ConfigError(fmt::format("layer {} ({}) has no ONNX export", index + 1, type));
  }
}

void set_metadata(onnx::ModelProto& proto, const std::string& key, const std::string& value) {
  onnx::StringStringEntryProto& entry = *proto.add_metadata_props();
  entry.set_key(key);
  entry.set_value(value);
}

void declare_tensor(onnx::ValueInfoProto& info, const std::string& name, std::size_t width) {
  info.set_name(name);
  onnx::TypeProto_Tensor& tensor = *info.mutable_type()->mutable_tensor_type();
  tensor.set_elem_type(onnx::TensorProto::FLOAT);
  tensor.mutable_shape()->add_dim()->set_dim_param("N");
  tensor.mutable_shape()->add_dim()->set_dim_value(static_cast<std::int64_t>(width));
}

std::string_view output_meaning(Output output) {
  switch (output) {
    case Output::softmax: return "probabilities";
    case Output::log_softmax: return "log_probabilities";
    case Output::linear: return "logits";
  }
  return "logits";
}

}  // namespace

std::string encode_onnx(const Model<float>& model, const OnnxExportOptions& options) {
  const ModelSpec& spec = model.spec();
  onnx::ModelProto proto;
  proto.set_ir_version(7);  // the IR of opset 13 (ONNX 1.8)
  proto.set_producer_name("bpnet");
  proto.set_producer_version(std::string(kVersion));
  proto.add_opset_import()->set_version(kOnnxExportOpset);
  onnx::GraphProto& graph = *proto.mutable_graph();
  graph.set_name("bpnet");

  GraphBuilder g(graph);
  if (options.raw_pixels) {
    // The same affine map as PixelScale, in the same order: x * scale + offset.
    const PixelScale pixels = pixel_scale(spec.normalize);
    g.node("Mul", {g.scalar("pixels.scale", pixels.scale)});
    g.node("Add", {g.scalar("pixels.offset", pixels.offset)});
  }
  const std::vector<interop::LayerView> layers = interop::layer_views(model);
  for (std::size_t i = 0; i < layers.size(); ++i) add_layer(g, layers[i], i);
  if (g.current() == "input") g.node("Identity");  // a graph output needs a producing node
  g.rename_current("output");
  declare_tensor(*graph.add_input(), "input", model.inputs());
  declare_tensor(*graph.add_output(), "output", model.classes());

  set_metadata(proto, "bpnet.version", std::string(kVersion));
  set_metadata(proto, "bpnet.normalize", std::string(name(spec.normalize)));
  set_metadata(proto, "bpnet.input", options.raw_pixels ? "raw pixels 0..255" : "normalised pixels");
  set_metadata(proto, "bpnet.output", std::string(output_meaning(model.output_kind())));
  if (spec.image_rows > 0) {
    set_metadata(proto, "bpnet.image_shape", fmt::format("{}x{}", spec.image_rows, spec.image_cols));
  }
  set_metadata(proto, "bpnet.architecture", spec.describe());
  try {
    onnx::checker::check_model(proto);
  } catch (const std::exception& e) {
    // A bug of ours, not of the user's model; say so plainly.
    throw Error(fmt::format("bpnet built an ONNX graph that ONNX's checker rejects: {}", e.what()));
  }
  return proto.SerializeAsString();
}

void export_onnx(const std::filesystem::path& path, const Model<float>& model, const OnnxExportOptions& options) {
  write_file_atomically(path, encode_onnx(model, options));
}

}  // namespace bpnet
