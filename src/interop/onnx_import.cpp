// ONNX ModelProto -> Model: walks the graph's nodes in order, following the
// one tensor that flows from the input to the output, and maps each node to
// a layer (or to nothing: Flatten, Identity, Dropout). The file is untrusted:
// protobuf parses it, and every size is checked here before it is used.
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <numbers>

#include "../binary_io.hpp"
#include "bpnet/error.hpp"
#include "bpnet/onnx.hpp"
#include "bpnet/spec.hpp"

namespace bpnet {
namespace {

constexpr std::uint64_t kMaxOnnxFileBytes = std::uint64_t{1} << 30;
constexpr std::int64_t kMinOpset = 9, kMaxOpset = 17;

// A float32 attribute as the decimal it was written as: 1e-5f is
// 9.99999974738e-06 as a double; 7 significant digits give back 1e-05.
double tidy(double value) { return std::stod(fmt::format("{:.7g}", value)); }

// A float32 constant with its shape.
struct Constant {
  std::vector<std::int64_t> dims;
  std::vector<float> values;
};

// One layer being assembled, with the values its parameters take.
struct ImportedLayer {
  LayerSpec spec;
  std::vector<float> params;
  std::vector<float> buffers;
};

class Importer {
 public:
  Importer(const std::string& name, const onnx::ModelProto& proto) : name_(name), proto_(proto) {}

  std::unique_ptr<Model<float>> run(const OnnxImportOptions& options);

 private:
  [[noreturn]] void fail(const std::string& problem) const { throw ModelFileError(name_, problem); }
  [[noreturn]] void fail(const onnx::NodeProto& node, const std::string& problem) const {
    fail(fmt::format("node {} '{}' ({}): {}", node_index_ + 1, node.name(), node.op_type(), problem));
  }

  std::int64_t opset() const;
  void read_constants();
  Constant to_constant(const onnx::TensorProto& t) const;
  void read_input();
  const Constant& constant(const onnx::NodeProto& node, int input) const;
  const onnx::AttributeProto* attribute(const onnx::NodeProto& node, const char* name) const;
  std::int64_t int_attribute(const onnx::NodeProto& node, const char* name, std::int64_t fallback) const;
  float float_attribute(const onnx::NodeProto& node, const char* name, float fallback) const;
  void check_axis(const onnx::NodeProto& node);
  void take_node(const onnx::NodeProto& node);
  bool is_scalar(const onnx::NodeProto& node, int input, double value) const;
  std::size_t gelu_nodes(std::size_t first) const;
  std::vector<int> layer_nodes_;  // indices of the graph's nodes other than Constant
  void add_linear(const onnx::NodeProto& node, const Constant& weight, bool transposed, const Constant* bias,
                  float alpha, float beta);
  void add_bias(const onnx::NodeProto& node, const Constant& bias);
  void add_batchnorm(const onnx::NodeProto& node);
  std::optional<Normalize> normalize_from_metadata() const;

  const std::string& name_;
  const onnx::ModelProto& proto_;
  std::map<std::string, Constant, std::less<>> constants_;
  std::vector<ImportedLayer> layers_;
  std::string current_;     // the tensor flowing through the chain
  std::size_t width_ = 0;   // its features per image
  std::size_t inputs_ = 0;  // the graph input's features per image
  std::size_t image_rows_ = 0, image_cols_ = 0;
  bool bias_pending_ = false;  // the last layer is a MatMul whose Add may follow
  int node_index_ = 0;
};

std::int64_t Importer::opset() const {
  for (const auto& o : proto_.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") return o.version();
  }
  fail("no opset of the default ONNX domain is imported");
}

Constant Importer::to_constant(const onnx::TensorProto& t) const {
  const std::string what = fmt::format("constant '{}'", t.name());
  if (t.data_type() != onnx::TensorProto::FLOAT) {
    fail(fmt::format("{} has element type {}; only float32 weights can be imported", what, t.data_type()));
  }
  if (t.data_location() == onnx::TensorProto::EXTERNAL) fail(what + " is stored in an external file");
  Constant c;
  std::uint64_t count = 1;
  for (std::int64_t d : t.dims()) {
    if (d < 0 || d > (std::int64_t{1} << 31)) fail(fmt::format("{} has dimension {}", what, d));
    count *= static_cast<std::uint64_t>(d);
    if (count > (std::uint64_t{1} << 31)) fail(what + " has more than 2^31 elements");
    c.dims.push_back(d);
  }
  if (t.has_raw_data()) {
    if (t.raw_data().size() != count * sizeof(float)) {
      fail(fmt::format("{} has {} bytes of data for {} floats", what, t.raw_data().size(), count));
    }
    c.values.resize(count);
    std::memcpy(c.values.data(), t.raw_data().data(), t.raw_data().size());  // ONNX raw data is little-endian
  } else {
    if (static_cast<std::uint64_t>(t.float_data_size()) != count) {
      fail(fmt::format("{} has {} values for {} elements", what, t.float_data_size(), count));
    }
    c.values.assign(t.float_data().begin(), t.float_data().end());
  }
  if (!std::all_of(c.values.begin(), c.values.end(), [](float v) { return std::isfinite(v); })) {
    fail(what + " holds a NaN or infinite value");
  }
  return c;
}

void Importer::read_constants() {
  for (const onnx::TensorProto& t : proto_.graph().initializer()) constants_[t.name()] = to_constant(t);
  // PyTorch also writes small constants (Reshape's shape) as Constant nodes;
  // those hold int64 tensors, kept here as floats of the same value.
  for (const onnx::NodeProto& node : proto_.graph().node()) {
    if (node.op_type() != "Constant" || node.output_size() != 1) continue;
    const onnx::AttributeProto* value = nullptr;
    for (const auto& a : node.attribute()) {
      if (a.name() == "value" && a.has_t()) value = &a;
    }
    if (value == nullptr) continue;
    const onnx::TensorProto& t = value->t();
    if (t.data_type() == onnx::TensorProto::INT64 && t.dims_size() <= 1) {
      Constant c;
      if (t.has_raw_data()) {
        if (t.raw_data().size() % 8 != 0 || t.raw_data().size() > 64) fail("a Constant node's shape is malformed");
        for (std::size_t i = 0; i < t.raw_data().size(); i += 8) {
          std::int64_t v;
          std::memcpy(&v, t.raw_data().data() + i, 8);
          c.values.push_back(static_cast<float>(v));
        }
      } else {
        if (t.int64_data_size() > 8) fail("a Constant node's shape is malformed");
        for (std::int64_t v : t.int64_data()) c.values.push_back(static_cast<float>(v));
      }
      c.dims = {static_cast<std::int64_t>(c.values.size())};
      constants_[node.output(0)] = std::move(c);
    } else {
      constants_[node.output(0)] = to_constant(t);
    }
  }
}

void Importer::read_input() {
  const onnx::GraphProto& graph = proto_.graph();
  // Before IR version 4, initializers were listed among the inputs too.
  const onnx::ValueInfoProto* input = nullptr;
  for (const onnx::ValueInfoProto& v : graph.input()) {
    if (constants_.contains(v.name())) continue;
    if (input != nullptr) fail(fmt::format("the graph has more than one input ('{}', '{}')", input->name(), v.name()));
    input = &v;
  }
  if (input == nullptr) fail("the graph has no input");
  if (graph.output_size() != 1) fail(fmt::format("the graph has {} outputs; an MLP has one", graph.output_size()));
  const auto& type = input->type();
  if (!type.has_tensor_type() || type.tensor_type().elem_type() != onnx::TensorProto::FLOAT) {
    fail(fmt::format("input '{}' is not a float32 tensor", input->name()));
  }
  const auto& dims = type.tensor_type().shape().dim();
  if (dims.size() < 2 || dims.size() > 4) {
    fail(fmt::format("input '{}' has rank {}; expected [N, features] or [N, (1,) rows, cols]", input->name(), dims.size()));
  }
  std::vector<std::size_t> sizes;
  for (int i = 1; i < dims.size(); ++i) {
    if (!dims[i].has_dim_value() || dims[i].dim_value() <= 0 || dims[i].dim_value() > (1 << 20)) {
      fail(fmt::format("input '{}' has no fixed size in dimension {}", input->name(), i));
    }
    sizes.push_back(static_cast<std::size_t>(dims[i].dim_value()));
  }
  inputs_ = 1;
  for (std::size_t s : sizes) inputs_ *= s;
  if (inputs_ > (1 << 24)) fail(fmt::format("input '{}' has {} features per image", input->name(), inputs_));
  if (sizes.size() >= 2) {
    if (sizes.size() == 3 && sizes[0] != 1) fail(fmt::format("input '{}' has {} channels; bpnet takes one", input->name(), sizes[0]));
    image_rows_ = sizes[sizes.size() - 2];
    image_cols_ = sizes.back();
  }
  current_ = input->name();
  width_ = inputs_;
}

const Constant& Importer::constant(const onnx::NodeProto& node, int input) const {
  if (input >= node.input_size()) fail(node, fmt::format("input {} is missing", input + 1));
  auto it = constants_.find(node.input(input));
  if (it == constants_.end()) fail(node, fmt::format("input '{}' is not a constant", node.input(input)));
  return it->second;
}

const onnx::AttributeProto* Importer::attribute(const onnx::NodeProto& node, const char* name) const {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

std::int64_t Importer::int_attribute(const onnx::NodeProto& node, const char* name, std::int64_t fallback) const {
  const onnx::AttributeProto* a = attribute(node, name);
  if (a == nullptr) return fallback;
  if (a->type() != onnx::AttributeProto::INT) fail(node, fmt::format("attribute {} is not an integer", name));
  return a->i();
}

float Importer::float_attribute(const onnx::NodeProto& node, const char* name, float fallback) const {
  const onnx::AttributeProto* a = attribute(node, name);
  if (a == nullptr) return fallback;
  if (a->type() != onnx::AttributeProto::FLOAT || !std::isfinite(a->f())) {
    fail(node, fmt::format("attribute {} is not a finite float", name));
  }
  return a->f();
}

// Softmax and LogSoftmax must act on the class axis of (N, classes): axis 1
// or -1. Before opset 13 they flattened from `axis` on, default 1, which is
// the same for a 2-D tensor.
void Importer::check_axis(const onnx::NodeProto& node) {
  const std::int64_t axis = int_attribute(node, "axis", opset() >= 13 ? -1 : 1);
  if (axis != 1 && axis != -1) fail(node, fmt::format("axis {} is not the class axis", axis));
}

void Importer::add_linear(const onnx::NodeProto& node, const Constant& weight, bool transposed,
                          const Constant* bias, float alpha, float beta) {
  if (weight.dims.size() != 2) fail(node, "the weight is not a matrix");
  const auto rows = static_cast<std::size_t>(weight.dims[0]), cols = static_cast<std::size_t>(weight.dims[1]);
  const std::size_t in = transposed ? cols : rows, out = transposed ? rows : cols;
  if (in != width_) fail(node, fmt::format("the weight takes {} features but the layer before gives {}", in, width_));
  ImportedLayer layer{{"Linear", {{"out", static_cast<double>(out)}}}, std::vector<float>(out * in + out), {}};
  for (std::size_t o = 0; o < out; ++o) {
    for (std::size_t i = 0; i < in; ++i) {
      const float w = transposed ? weight.values[o * in + i] : weight.values[i * out + o];
      layer.params[o * in + i] = alpha * w;
    }
  }
  width_ = out;
  layers_.push_back(std::move(layer));
  if (bias != nullptr) {
    add_bias(node, *bias);
    for (std::size_t o = 0; o < out; ++o) layers_.back().params[out * in + o] *= beta;
  }
}

void Importer::add_bias(const onnx::NodeProto& node, const Constant& bias) {
  const bool vector = bias.dims.size() == 1 || (bias.dims.size() == 2 && bias.dims[0] == 1);
  if (!vector || bias.values.size() != width_) {
    fail(node, fmt::format("the bias has shape [{}]; expected [{}]", fmt::join(bias.dims, ", "), width_));
  }
  std::vector<float>& params = layers_.back().params;
  std::copy(bias.values.begin(), bias.values.end(), params.end() - static_cast<std::ptrdiff_t>(width_));
}

void Importer::add_batchnorm(const onnx::NodeProto& node) {
  if (node.output_size() > 1 && !node.output(1).empty()) fail(node, "training-mode outputs are not supported");
  if (int_attribute(node, "training_mode", 0) != 0) fail(node, "training_mode is set");
  ImportedLayer layer;
  for (int i = 1; i <= 4; ++i) {
    const Constant& c = constant(node, i);
    if (c.values.size() != width_) {
      fail(node, fmt::format("input {} has {} values for {} features", i + 1, c.values.size(), width_));
    }
    auto& target = i <= 2 ? layer.params : layer.buffers;
    target.insert(target.end(), c.values.begin(), c.values.end());
  }
  if (!std::all_of(layer.buffers.begin() + static_cast<std::ptrdiff_t>(width_), layer.buffers.end(),
                   [](float v) { return v >= 0; })) {
    fail(node, "a running variance is negative");
  }
  const float eps = float_attribute(node, "epsilon", 1e-5f);
  // ONNX's momentum weighs the running value (default 0.9); PyTorch's weighs
  // the batch's (default 0.1). Only training uses it.
  const float momentum = float_attribute(node, "momentum", 0.9f);
  if (!(eps > 0) || !(momentum >= 0 && momentum <= 1)) fail(node, "epsilon or momentum is out of range");
  layer.spec = {"BatchNorm1d", {{"eps", tidy(eps)}, {"momentum", tidy(1.0 - momentum)}}};
  layers_.push_back(std::move(layer));
}

void Importer::take_node(const onnx::NodeProto& node) {
  const std::string& op = node.op_type();
  if (!node.domain().empty() && node.domain() != "ai.onnx") fail(node, fmt::format("domain '{}' is not ONNX's", node.domain()));
  if (node.input_size() == 0 || std::find(node.input().begin(), node.input().end(), current_) == node.input().end()) {
    fail(node, fmt::format("it does not read the chain's tensor '{}'; only a single chain of layers can be imported",
                           current_));
  }
  if (node.output_size() < 1) fail(node, "it has no output");
  const bool was_pending = std::exchange(bias_pending_, false);
  const bool first_input_is_chain = node.input(0) == current_;

  if (op == "Gemm") {
    if (!first_input_is_chain || int_attribute(node, "transA", 0) != 0) fail(node, "only x * W (transA = 0) is supported");
    const Constant* bias = node.input_size() > 2 && !node.input(2).empty() ? &constant(node, 2) : nullptr;
    add_linear(node, constant(node, 1), int_attribute(node, "transB", 0) != 0, bias,
               float_attribute(node, "alpha", 1.0f), float_attribute(node, "beta", 1.0f));
    if (bias == nullptr) bias_pending_ = true;
  } else if (op == "MatMul") {
    if (!first_input_is_chain) fail(node, "only x * W is supported");
    add_linear(node, constant(node, 1), false, nullptr, 1.0f, 1.0f);
    bias_pending_ = true;
  } else if (op == "Add") {
    if (!was_pending) fail(node, "an Add that is not the bias of a MatMul or Gemm");
    add_bias(node, constant(node, first_input_is_chain ? 1 : 0));
  } else if (op == "Flatten") {
    if (int_attribute(node, "axis", 1) != 1) fail(node, "only axis 1 (one row per image) is supported");
  } else if (op == "Reshape") {
    // To (N, features): [-1, F], [0, -1], [N, F]...; anything else mixes images.
    const Constant& shape = constant(node, 1);
    const bool flat = shape.values.size() == 2 &&
                      (shape.values[1] == -1.0f || shape.values[1] == static_cast<float>(width_)) &&
                      (shape.values[1] != -1.0f || shape.values[0] == 0.0f);
    if (!flat) fail(node, "only a reshape to (N, features) is supported");
  } else if (op == "Identity" || op == "Dropout") {
    if (node.output_size() > 1 && !node.output(1).empty()) fail(node, "the dropout mask output is not supported");
  } else if (op == "Relu" || op == "Sigmoid" || op == "Tanh") {
    layers_.push_back({{op == "Relu" ? "ReLU" : op, {}}, {}, {}});
  } else if (op == "LeakyRelu") {
    layers_.push_back({{"LeakyReLU", {{"slope", tidy(float_attribute(node, "alpha", 0.01f))}}}, {}, {}});
  } else if (op == "Softmax" || op == "LogSoftmax") {
    check_axis(node);
    layers_.push_back({{op, {}}, {}, {}});
  } else if (op == "BatchNormalization") {
    if (!first_input_is_chain) fail(node, "the chain's tensor is not its first input");
    add_batchnorm(node);
  } else {
    fail(node, fmt::format("{} is not an MLP layer bpnet can import", op));
  }
  current_ = node.output(0);
}

bool Importer::is_scalar(const onnx::NodeProto& node, int input, double value) const {
  if (input >= node.input_size()) return false;
  auto it = constants_.find(node.input(input));
  return it != constants_.end() && it->second.values.size() == 1 &&
         std::abs(it->second.values[0] - value) <= 1e-6 * std::abs(value);
}

// Opsets before 20 have no Gelu; PyTorch and bpnet write it as five nodes,
// x * 0.5 * (1 + erf(x / sqrt 2)): Div by sqrt 2 (bpnet: Mul by 1/sqrt 2),
// Erf, Add 1, Mul by x, Mul by 0.5. Returns 5 if the nodes from `first` on
// are that chain on the current tensor, else 0.
std::size_t Importer::gelu_nodes(std::size_t first) const {
  if (first + 5 > layer_nodes_.size()) return 0;
  const auto node = [&](std::size_t i) -> const onnx::NodeProto& { return proto_.graph().node(layer_nodes_[first + i]); };
  const auto& scale = node(0);
  const auto& erf = node(1);
  const auto& add = node(2);
  const auto& times_x = node(3);
  const auto& half = node(4);
  const auto reads = [](const onnx::NodeProto& n, const std::string& tensor) {
    return std::find(n.input().begin(), n.input().end(), tensor) != n.input().end();
  };
  const bool scaled = scale.input_size() == 2 && scale.input(0) == current_ &&
                      ((scale.op_type() == "Div" && is_scalar(scale, 1, std::numbers::sqrt2)) ||
                       (scale.op_type() == "Mul" && is_scalar(scale, 1, std::numbers::sqrt2 / 2)));
  if (!scaled || scale.output_size() != 1) return 0;
  const bool chain = erf.op_type() == "Erf" && erf.input_size() == 1 && erf.input(0) == scale.output(0) &&
                     add.op_type() == "Add" && add.input_size() == 2 && reads(add, erf.output(0)) &&
                     (is_scalar(add, 0, 1.0) || is_scalar(add, 1, 1.0)) && times_x.op_type() == "Mul" &&
                     times_x.input_size() == 2 && reads(times_x, add.output(0)) && reads(times_x, current_) &&
                     half.op_type() == "Mul" && half.input_size() == 2 && reads(half, times_x.output(0)) &&
                     (is_scalar(half, 0, 0.5) || is_scalar(half, 1, 0.5));
  return chain ? 5 : 0;
}

std::optional<Normalize> Importer::normalize_from_metadata() const {
  for (const auto& entry : proto_.metadata_props()) {
    if (entry.key() == "bpnet.input" && entry.value() != "normalised pixels") {
      fail("it takes raw pixels (exported with --raw-pixels); import the file exported without it");
    }
  }
  for (const auto& entry : proto_.metadata_props()) {
    if (entry.key() != "bpnet.normalize") continue;
    try {
      return parse_normalize(entry.value());
    } catch (const ConfigError& e) {
      fail(fmt::format("its metadata bpnet.normalize: {}", e.what()));
    }
  }
  return std::nullopt;
}

std::unique_ptr<Model<float>> Importer::run(const OnnxImportOptions& options) {
  const std::int64_t version = opset();
  if (version < kMinOpset || version > kMaxOpset) {
    fail(fmt::format("opset {} is outside the supported {}..{}", version, kMinOpset, kMaxOpset));
  }
  if (!proto_.has_graph()) fail("it has no graph");
  const std::optional<Normalize> normalize = options.normalize ? options.normalize : normalize_from_metadata();
  if (!normalize) {
    fail("it does not say how pixels were normalised for it; pass --normalize unit (x/255) or torch ((x/255-0.5)/0.5)");
  }
  read_constants();
  read_input();
  // Constant nodes were read up front; what is left must be one chain.
  for (int i = 0; i < proto_.graph().node_size(); ++i) {
    if (proto_.graph().node(i).op_type() != "Constant") layer_nodes_.push_back(i);
  }
  for (std::size_t i = 0; i < layer_nodes_.size();) {
    node_index_ = layer_nodes_[i];
    if (const std::size_t n = gelu_nodes(i); n > 0) {
      layers_.push_back({{"GELU", {}}, {}, {}});
      bias_pending_ = false;
      current_ = proto_.graph().node(layer_nodes_[i + n - 1]).output(0);
      i += n;
      continue;
    }
    take_node(proto_.graph().node(node_index_));
    ++i;
  }
  if (current_ != proto_.graph().output(0).name()) {
    fail(fmt::format("the chain ends in '{}', not in the graph output '{}'", current_, proto_.graph().output(0).name()));
  }

  ModelSpec spec;
  spec.inputs = inputs_;
  spec.normalize = *normalize;
  // A flat input says nothing of the image; bpnet's own files keep it in metadata.
  for (const auto& entry : proto_.metadata_props()) {
    std::size_t rows = 0, cols = 0;
    if (entry.key() == "bpnet.image_shape" && std::sscanf(entry.value().c_str(), "%zux%zu", &rows, &cols) == 2 &&
        image_rows_ == 0) {
      image_rows_ = rows;
      image_cols_ = cols;
    }
  }
  if (image_rows_ * image_cols_ == inputs_) {
    spec.image_rows = image_rows_;
    spec.image_cols = image_cols_;
  }
  for (const ImportedLayer& layer : layers_) spec.layers.push_back(layer.spec);
  const std::string last = spec.layers.empty() ? "" : spec.layers.back().type;
  // The loss matters only to further training: the one the last layer implies.
  spec.loss = last == "LogSoftmax" ? LossKind::nll : (last == "Softmax" || last == "Linear") ? LossKind::cross_entropy : LossKind::mse;
  try {
    spec.validate();
  } catch (const ConfigError& e) {
    fail(e.what());
  }
  auto model = std::make_unique<Model<float>>(spec);
  std::size_t p = 0, b = 0;
  for (const ImportedLayer& layer : layers_) {
    std::copy(layer.params.begin(), layer.params.end(), model->parameters().begin() + static_cast<std::ptrdiff_t>(p));
    std::copy(layer.buffers.begin(), layer.buffers.end(), model->buffers().begin() + static_cast<std::ptrdiff_t>(b));
    p += layer.params.size();
    b += layer.buffers.size();
  }
  return model;
}

}  // namespace

std::unique_ptr<Model<float>> decode_onnx(std::span<const std::uint8_t> bytes, const std::string& name,
                                          const OnnxImportOptions& options) {
  onnx::ModelProto proto;
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      !proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    throw ModelFileError(name, "it is not an ONNX model (protobuf parsing failed)");
  }
  return Importer(name, proto).run(options);
}

std::unique_ptr<Model<float>> import_onnx(const std::filesystem::path& path, const OnnxImportOptions& options) {
  return decode_onnx(binary::read_whole_file(path, kMaxOnnxFileBytes), path.string(), options);
}

}  // namespace bpnet
