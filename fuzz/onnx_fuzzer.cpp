// libFuzzer target: ONNX import on arbitrary bytes (protobuf parsing, then
// bpnet's checks of the graph and its weights). An accepted model must also
// run: one forward pass on a zero image.
#include <cstdint>
#include <span>

#include "bpnet/error.hpp"
#include "bpnet/onnx.hpp"
#include "bpnet/predictor.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  try {
    // Without --normalize the file's metadata must say it; that path too.
    bpnet::decode_onnx(bytes, "fuzz-input", {});
  } catch (const bpnet::ModelFileError&) {
  }
  try {
    auto model = bpnet::decode_onnx(bytes, "fuzz-input", {.normalize = bpnet::Normalize::unit});
    bpnet::Matrix<float> x(1, model->inputs());
    for (std::size_t i = 0; i < model->inputs(); ++i) x(0, i) = 0.0f;
    bpnet::Predictor(*model).forward(x);
  } catch (const bpnet::ModelFileError&) {
  }
  return 0;
}
