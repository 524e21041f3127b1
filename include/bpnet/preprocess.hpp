// Turning uint8 images into float inputs: the one preprocessing step that
// training, evaluation, prediction and exports share.
#pragma once

#include <cstdint>
#include <span>

#include "bpnet/dataset.hpp"
#include "bpnet/spec.hpp"
#include "bpnet/tensor.hpp"

namespace bpnet {

// byte -> float as value * scale + offset: unit is x/255, torch is
// (x/255 - 0.5)/0.5 = x * 2/255 - 1. An affine map (rather than a lookup
// table) lets the compiler vectorise the conversion.
struct PixelScale {
  float scale = 1.0f / 255.0f;
  float offset = 0.0f;
  float operator()(std::uint8_t value) const { return static_cast<float>(value) * scale + offset; }
};
PixelScale pixel_scale(Normalize normalize);

// x (indices.size(), features) and labels (indices.size()) from the images
// at `indices`, in that order.
void gather_batch(const Dataset& data, std::span<const std::uint32_t> indices, PixelScale pixels,
                  MatrixView<float> x, std::span<std::uint8_t> labels);

}  // namespace bpnet
