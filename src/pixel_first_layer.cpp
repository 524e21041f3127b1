#include "pixel_first_layer.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "batch_loader.hpp"
#include "bpnet/layers.hpp"
#include "kernels/small_batch.hpp"

namespace bpnet {

std::unique_ptr<PixelFirstLayer> PixelFirstLayer::for_model(const Model<float>& model, std::size_t depth) {
  const char* dense = std::getenv("BPNET_DENSE_PIXELS");
  if (dense != nullptr && std::strcmp(dense, "1") == 0) return nullptr;
  const Isa isa = widest_isa();
  const PixelScale pixels = pixel_scale(model.spec().normalize);
  const auto* linear = dynamic_cast<const Linear<float>*>(&model.layer(0));
  if (linear == nullptr || pixels.offset != 0.0f || !sparse_pixel_product_runs(isa)) return nullptr;
  const bool relu = model.depth() > 1 && model.layer(1).type() == "ReLU";
  const std::size_t done = relu ? 2 : 1;
  if (depth <= done) return nullptr;  // forward_from needs a layer to run
  const MatrixView<float> w = linear->weight();
  return std::make_unique<PixelFirstLayer>(PixelMajorWeights(isa, w.data, linear->bias().data(), w.rows, w.cols),
                                           pixels.scale, relu);
}

bool PixelFirstLayer::pays(const std::uint8_t* pixels, std::size_t rows) const {
  constexpr std::size_t kSampleRows = 16;
  // A few rows go through the few-rows kernel, whose sums run in another order.
  if (rows <= kSmallBatchRows) return false;
  return nonzero_share(pixels, std::min(rows, kSampleRows) * weights_.in) <= kSparsePixelsMaxShare;
}

void PixelFirstLayer::run(const std::uint8_t* pixels, std::size_t rows, Matrix<float>& out) const {
  out.resize(rows, weights_.out);
  sparse_pixel_product(weights_, pixels, rows, scale_, relu_, out.view().data, weights_.out);
}

}  // namespace bpnet
