// Internal: evaluation's first Linear layer computed from the pixel bytes,
// the zero pixels skipped (kernels/sparse_pixels.hpp), where that is faster:
// decided once for a data set. Pixels in [0, 1] give the floats of the
// usual forward. A normalisation that moves pixel 0 to an offset (torch's
// [-1, 1]) has the product of pixel * scale computed and the offset times
// W's row sums added to the bias (kernels/mostly_zero_input.hpp's
// background_bias): the exact same sum, other floats, as near it.
// evaluate() and predict_all() use it; training does not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "bpnet/dataset.hpp"
#include "bpnet/model.hpp"
#include "kernels/sparse_pixels.hpp"

namespace bpnet {

class PixelFirstLayer {
 public:
  // Null where it does not apply: the model does not start with a Linear,
  // the CPU (or BPNET_MAX_ISA) runs neither AVX2 nor AVX-512, the forward
  // stops within the first layers (`depth`), or the environment variable
  // BPNET_DENSE_PIXELS is 1 (to measure the dense path, or to have its
  // floats for torch's pixels), or the data set's first images are more than
  // kSparsePixelsMaxShare nonzero, or it has a few images only. Reads the
  // model's weights now: they must not change while it lives.
  static std::unique_ptr<PixelFirstLayer> for_data(const Model<float>& model, std::size_t depth,
                                                   const Dataset& data);

  // How many of the model's layers run() computes: the Linear, and the ReLU
  // right after it if there is one.
  std::size_t layers_done() const { return relu_ ? 2 : 1; }

  // Whether it computes a piece of this many rows: not a few rows
  // (kSmallBatchRows), whose forward sums in another order.
  bool runs_for(std::size_t rows) const;

  // out (rows, the Linear's outputs) = what the model's first layers_done()
  // layers give for these images; Model::forward_from goes on from there.
  void run(const std::uint8_t* pixels, std::size_t rows, Matrix<float>& out) const;

  PixelFirstLayer(PixelMajorWeights weights, float scale, bool relu)
      : weights_(std::move(weights)), scale_(scale), relu_(relu) {}

 private:
  PixelMajorWeights weights_;
  float scale_;  // pixel value -> input
  bool relu_;
};

}  // namespace bpnet
