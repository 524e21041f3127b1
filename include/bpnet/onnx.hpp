// ONNX files: exporting a bpnet model so other runtimes can run it, and
// importing the MLPs PyTorch exports. Library bpnet_interop (it links
// Debian's ONNX protobuf definitions). The mapping, layer by layer, is in
// docs/interop.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "bpnet/model.hpp"

namespace bpnet {

inline constexpr std::int64_t kOnnxExportOpset = 13;

struct OnnxExportOptions {
  // Put the pixel normalisation into the graph, so the input is raw pixel
  // values 0..255 and a consumer needs no preprocessing knowledge.
  bool raw_pixels = false;
};

// The serialised ModelProto: input "input" float32 [N, features] (N
// dynamic), output "output" [N, classes] holding what the model's last layer
// gives (probabilities, log-probabilities or logits; the metadata entry
// "bpnet.output" says which). Dropout is left out, BatchNorm1d is in its
// eval form. Throws ConfigError for a layer ONNX opset 13 cannot express.
std::string encode_onnx(const Model<float>& model, const OnnxExportOptions& options);
// Atomic (temporary file + rename); throws WriteError on failure.
void export_onnx(const std::filesystem::path& path, const Model<float>& model, const OnnxExportOptions& options);

struct OnnxImportOptions {
  // How the model expects pixels to be scaled. Files bpnet exported say so in
  // their metadata; for any other file this must be given.
  std::optional<Normalize> normalize;
};

// Reads an MLP: a chain of Gemm (or MatMul + Add), Flatten/Reshape, Relu,
// LeakyRelu, Sigmoid, Tanh, Softmax, LogSoftmax, BatchNormalization and
// Identity/Dropout nodes at opsets 9-17, weights as float32 initializers.
// Throws ModelFileError naming `name` and the node and op it cannot take.
std::unique_ptr<Model<float>> decode_onnx(std::span<const std::uint8_t> bytes, const std::string& name,
                                          const OnnxImportOptions& options);
std::unique_ptr<Model<float>> import_onnx(const std::filesystem::path& path, const OnnxImportOptions& options);

}  // namespace bpnet
