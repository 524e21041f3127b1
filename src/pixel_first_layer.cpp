#include "pixel_first_layer.hpp"

#include <algorithm>
#include <vector>

#include "batch_loader.hpp"
#include "bpnet/layers.hpp"
#include "kernels/mostly_zero_input.hpp"
#include "kernels/small_batch.hpp"

namespace bpnet {

namespace {

// Whether skipping pays for a data set: judged by the share of nonzero
// pixels in its first images (a few hundred KB), once for all its batches.
// Deciding batch by batch measured slower where some went each way (each
// thread then lays W out both ways; Fashion-MNIST 0.92x the dense path).
bool pays_for(const Dataset& data) {
  constexpr std::size_t kSampleImages = 256;
  return nonzero_share(data.pixels.data(), std::min(data.count, kSampleImages) * data.features()) <=
         kSparsePixelsMaxShare;
}

}  // namespace

std::unique_ptr<PixelFirstLayer> PixelFirstLayer::for_data(const Model<float>& model, std::size_t depth,
                                                           const Dataset& data) {
  if (dense_products_asked()) return nullptr;
  const Isa isa = widest_isa();
  const PixelScale pixels = pixel_scale(model.spec().normalize);
  const auto* linear = dynamic_cast<const Linear<float>*>(&model.layer(0));
  if (linear == nullptr || !sparse_pixel_product_runs(isa)) return nullptr;
  const bool relu = model.depth() > 1 && model.layer(1).type() == "ReLU";
  const std::size_t done = relu ? 2 : 1;
  if (depth <= done) return nullptr;  // forward_from needs a layer to run
  if (data.count <= kSmallBatchRows || !pays_for(data)) return nullptr;
  const MatrixView<float> w = linear->weight();
  // Pixels that normalise to `offset` (torch's -1): the product of pixel * scale, the offset in the bias.
  std::vector<float> bias(linear->bias().begin(), linear->bias().end());
  if (pixels.offset != 0.0f) background_bias(w.data, w.cols, linear->bias().data(), w.rows, pixels.offset, bias.data());
  return std::make_unique<PixelFirstLayer>(PixelMajorWeights(isa, w.data, bias.data(), w.rows, w.cols), pixels.scale,
                                           relu);
}

bool PixelFirstLayer::runs_for(std::size_t rows) const { return rows > kSmallBatchRows; }

void PixelFirstLayer::run(const std::uint8_t* pixels, std::size_t rows, Matrix<float>& out) const {
  out.resize(rows, weights_.out);
  sparse_pixel_product(weights_, pixels, rows, scale_, relu_, out.view().data, weights_.out);
}

}  // namespace bpnet
