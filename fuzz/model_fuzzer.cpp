// libFuzzer target: the model-file decoder on arbitrary bytes. An accepted
// model must also run: one forward pass on a zero image.
#include <cstdint>
#include <span>

#include "bpnet/error.hpp"
#include "bpnet/model_file.hpp"
#include "bpnet/predictor.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    auto model = bpnet::decode_model(std::span<const std::uint8_t>(data, size), "fuzz-input");
    bpnet::Matrix<float> x(1, model->inputs());
    for (std::size_t i = 0; i < model->inputs(); ++i) x(0, i) = 0.0f;
    bpnet::Predictor(*model).forward(x);
  } catch (const bpnet::ModelFileError&) {
  }
  return 0;
}
