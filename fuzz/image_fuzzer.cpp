// libFuzzer target: image decoding (PNG, JPEG) and the MNIST-style
// preprocessing on arbitrary bytes. Any image it decodes is preprocessed.
#include <cstdint>
#include <span>

#include "bpnet/digit_image.hpp"
#include "bpnet/error.hpp"
#include "bpnet/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const bpnet::GreyImage image = bpnet::decode_image(std::span<const std::uint8_t>(data, size), "fuzz-input");
    bpnet::mnist_style(image, 28, 28, "fuzz-input");
  } catch (const bpnet::DataError&) {
  }
  return 0;
}
