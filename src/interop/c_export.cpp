// Model -> one C99 file. The generated code mirrors bpnet's layers one by
// one (float arithmetic, the same formulas) so that it predicts what bpnet
// predicts; sums run in plain loop order, so probabilities may differ from
// bpnet's in the last bits (docs/interop.md).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "bpnet/atomic_file.hpp"
#include "bpnet/c_export.hpp"
#include "bpnet/error.hpp"
#include "bpnet/preprocess.hpp"
#include "bpnet/version.hpp"
#include "layer_views.hpp"

namespace bpnet {
namespace {

// The shortest text that reads back as the same float, as a C float literal.
std::string float_literal(float v) {
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s + "f";
}

void write_array(std::string& out, const std::string& name, std::span<const float> values) {
  out += fmt::format("static const float {}[{}] = {{", name, values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i % 8 == 0) out += "\n ";
    out += " " + float_literal(values[i]) + ",";
  }
  out += "\n};\n";
}

// The helper each layer type needs; only those used are emitted, since
// -Wall rejects unused static functions.
const char* helper(const std::string& type) {
  if (type == "Linear") {
    return R"(/* y = W x + b, W (out, in) row-major. */
static void linear(int in, int out, const float *w, const float *b, const float *x, float *y) {
  int o, i;
  for (o = 0; o < out; ++o) {
    const float *row = w + (long)o * in;
    float sum = 0.0f;
    for (i = 0; i < in; ++i) sum += row[i] * x[i];
    y[o] = sum + b[o];
  }
}
)";
  }
  if (type == "BatchNorm1d") {
    return R"(/* Batch normalisation with the running statistics (eval mode). */
static void batchnorm(int n, const float *w, const float *b, const float *mean, const float *var, float eps,
                      float *x) {
  int i;
  for (i = 0; i < n; ++i) x[i] = (x[i] - mean[i]) * (1.0f / sqrtf(var[i] + eps)) * w[i] + b[i];
}
)";
  }
  if (type == "ReLU") return "static void relu(int n, float *x) {\n  int i;\n  for (i = 0; i < n; ++i) x[i] = x[i] > 0.0f ? x[i] : 0.0f;\n}\n";
  if (type == "LeakyReLU") {
    return "static void leaky_relu(int n, float slope, float *x) {\n  int i;\n  for (i = 0; i < n; ++i) x[i] = x[i] > 0.0f ? x[i] : "
           "slope * x[i];\n}\n";
  }
  if (type == "Sigmoid") return "static void sigmoid(int n, float *x) {\n  int i;\n  for (i = 0; i < n; ++i) x[i] = 1.0f / (1.0f + expf(-x[i]));\n}\n";
  if (type == "Tanh") return "static void tanh_layer(int n, float *x) {\n  int i;\n  for (i = 0; i < n; ++i) x[i] = tanhf(x[i]);\n}\n";
  if (type == "GELU") {
    return "static void gelu(int n, float *x) {\n  int i;\n  for (i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + "
           "erff(x[i] * 0.70710678f));\n}\n";
  }
  if (type == "Softmax" || type == "LogSoftmax") {
    return R"(/* Softmax (log_form 0) or log-softmax (log_form 1), shifted by the maximum. */
static void softmax(int n, int log_form, float *x) {
  int i;
  float max = x[0], sum = 0.0f;
  for (i = 1; i < n; ++i) max = x[i] > max ? x[i] : max;
  for (i = 0; i < n; ++i) sum += expf(x[i] - max);
  for (i = 0; i < n; ++i) x[i] = log_form ? x[i] - max - logf(sum) : expf(x[i] - max) / sum;
}
)";
  }
  return nullptr;
}

// The statements of predict() for one layer, reading and writing `x` (and
// `y` for Linear, which then swaps the two).
std::string layer_call(const interop::LayerView& layer, std::size_t i) {
  const std::string& t = layer.spec.type;
  if (t == "Linear") {
    return fmt::format("  linear({}, {}, layer{}_weight, layer{}_bias, x, y);\n  swap = x; x = y; y = swap;\n", layer.in,
                       layer.out, i, i);
  }
  if (t == "BatchNorm1d") {
    return fmt::format("  batchnorm({0}, layer{1}_weight, layer{1}_bias, layer{1}_mean, layer{1}_var, {2}, x);\n", layer.out,
                       i, float_literal(static_cast<float>(layer.attribute("eps"))));
  }
  if (t == "ReLU") return fmt::format("  relu({}, x);\n", layer.out);
  if (t == "LeakyReLU") {
    return fmt::format("  leaky_relu({}, {}, x);\n", layer.out, float_literal(static_cast<float>(layer.attribute("slope"))));
  }
  if (t == "Sigmoid") return fmt::format("  sigmoid({}, x);\n", layer.out);
  if (t == "Tanh") return fmt::format("  tanh_layer({}, x);\n", layer.out);
  if (t == "GELU") return fmt::format("  gelu({}, x);\n", layer.out);
  if (t == "Softmax") return fmt::format("  softmax({}, 0, x);\n", layer.out);
  if (t == "LogSoftmax") return fmt::format("  softmax({}, 1, x);\n", layer.out);
  if (t == "Dropout") return "  /* Dropout: the identity when predicting. */\n";
  throw ConfigError(fmt::format("layer {} ({}) has no C export", i + 1, t));
}

std::string weights(const interop::LayerView& layer, std::size_t i) {
  std::string out;
  if (layer.spec.type == "Linear") {
    write_array(out, fmt::format("layer{}_weight", i), layer.params.first(layer.in * layer.out));
    write_array(out, fmt::format("layer{}_bias", i), layer.params.subspan(layer.in * layer.out));
  } else if (layer.spec.type == "BatchNorm1d") {
    write_array(out, fmt::format("layer{}_weight", i), layer.params.first(layer.out));
    write_array(out, fmt::format("layer{}_bias", i), layer.params.subspan(layer.out));
    write_array(out, fmt::format("layer{}_mean", i), layer.buffers.first(layer.out));
    write_array(out, fmt::format("layer{}_var", i), layer.buffers.subspan(layer.out));
  }
  return out;
}

std::string header_comment(const Model<float>& model, const std::string& origin) {
  const ModelSpec& spec = model.spec();
  const std::string shape = spec.image_rows > 0 ? fmt::format("a {}x{} image, row by row", spec.image_rows, spec.image_cols)
                                                : "the features";
  return fmt::format(R"(/* Generated by bpnet {} from {}. Plain C99; link with -lm.
 *
 * Network: {}
 *
 *   int bpnet_predict(const float *input, float *probabilities);
 *     input: {} floats: {}, each pixel p (0..255)
 *       normalised as p * BPNET_PIXEL_SCALE + BPNET_PIXEL_OFFSET ("{}" normalisation);
 *       bpnet_pixels_to_input() does exactly that.
 *     probabilities: receives {} values, one per class, summing to 1.
 *     Returns the predicted class (the largest output). Reentrant: no state,
 *     no allocation; it uses two stack arrays of BPNET_MAX_WIDTH floats.
 *
 * Preprocessing: the network saw images as in its training set. For MNIST
 * that is a light digit on a dark background (0 = background), the digit's
 * bounding box scaled to fit 20x20 and placed in 28x28 by its centre of mass.
 */
)",
                     kVersion, origin, spec.describe(), model.inputs(), shape, name(spec.normalize), model.classes());
}

}  // namespace

std::string c_source(const Model<float>& model, const std::string& origin) {
  const std::vector<interop::LayerView> layers = interop::layer_views(model);
  const PixelScale pixels = pixel_scale(model.spec().normalize);
  std::size_t max_width = model.inputs();
  for (const auto& layer : layers) max_width = std::max(max_width, layer.out);

  std::string out = header_comment(model, origin);
  out += "#include <math.h>\n#include <string.h>\n\n";
  out += fmt::format("#define BPNET_INPUTS {}\n#define BPNET_CLASSES {}\n#define BPNET_MAX_WIDTH {}\n", model.inputs(),
                     model.classes(), max_width);
  if (model.spec().image_rows > 0) {
    out += fmt::format("#define BPNET_IMAGE_ROWS {}\n#define BPNET_IMAGE_COLS {}\n", model.spec().image_rows,
                       model.spec().image_cols);
  }
  out += fmt::format("#define BPNET_PIXEL_SCALE {}\n#define BPNET_PIXEL_OFFSET {}\n\n", float_literal(pixels.scale),
                     float_literal(pixels.offset));
  out += "int bpnet_predict(const float *input, float *probabilities);\n";
  out += "void bpnet_pixels_to_input(const unsigned char *pixels, float *input);\n\n";

  std::string body;
  std::set<std::string> needed;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    out += weights(layers[i], i);
    body += layer_call(layers[i], i);
    if (helper(layers[i].spec.type) != nullptr) needed.insert(layers[i].spec.type == "LogSoftmax" ? "Softmax" : layers[i].spec.type);
  }
  const Output output = model.output_kind();
  if (output == Output::linear) needed.insert("Softmax");  // logits become probabilities at the end
  for (const std::string& type : needed) out += std::string("\n") + helper(type);

  out += R"(
void bpnet_pixels_to_input(const unsigned char *pixels, float *input) {
  int i;
  for (i = 0; i < BPNET_INPUTS; ++i) input[i] = (float)pixels[i] * BPNET_PIXEL_SCALE + BPNET_PIXEL_OFFSET;
}

int bpnet_predict(const float *input, float *probabilities) {
  float a[BPNET_MAX_WIDTH], b[BPNET_MAX_WIDTH];
  float *x = a, *y = b, *swap;
  int i, best = 0;
  memcpy(x, input, sizeof(float) * BPNET_INPUTS);
)";
  out += body;
  out += "  for (i = 1; i < BPNET_CLASSES; ++i) best = x[i] > x[best] ? i : best;\n";
  if (output == Output::log_softmax) {
    out += "  for (i = 0; i < BPNET_CLASSES; ++i) probabilities[i] = expf(x[i]);\n";
  } else {
    if (output == Output::linear) out += "  softmax(BPNET_CLASSES, 0, x);\n";
    out += "  memcpy(probabilities, x, sizeof(float) * BPNET_CLASSES);\n";
  }
  out += "  return best;\n}\n";
  return out;
}

void export_c(const std::filesystem::path& path, const Model<float>& model, const std::string& origin) {
  write_file_atomically(path, c_source(model, origin));
}

}  // namespace bpnet
