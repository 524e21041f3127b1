#include "bpnet/evaluate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "bpnet/error.hpp"
#include "bpnet/loss.hpp"
#include "bpnet/preprocess.hpp"
#include "kernels/kernel_threads.hpp"
#include "kernels/packed_gemm.hpp"
#include "parallel/thread_team.hpp"
#include "pixel_first_layer.hpp"

namespace bpnet {
namespace {

// Rows converted and run at a time: what keeps a piece of the batch, as
// floats, in L2 from its conversion to the first product (768 KB: 245 MNIST
// images). A batch of 1000 MNIST images whole is 3 MB, read back from L3:
// pieces measured 6-11% faster (docs/performance.md). At least 64 rows, so
// that an evenly cut batch has no piece of the few rows that a product
// computes with another kernel (kernels/small_batch.hpp), in another order.
std::size_t piece_rows(std::size_t features) {
  constexpr std::size_t kPieceBytes = 768 * 1024;
  return std::max<std::size_t>(64, kPieceBytes / (features * sizeof(float)));
}

// Checks that `data` fits the network, then calls visit(b, out, labels) for
// every batch b of `batch` images (the data set's order, the last one
// shorter): out holds the batch's outputs of the first `depth` layers.
// With two batches or more and the kernel team free, the team's threads take
// whole batches in turn (b = member, member + size, ...), each with its own
// buffers and single-threaded products: a core keeps its batch in its own
// caches and no product waits for the other core (docs/performance.md). A
// batch runs in pieces of at most piece_rows() rows (cut evenly), and a
// row's output depends on no other row, nor on which thread or piece
// computed it: the results do not depend on the cut either. `visit` must
// only touch what belongs to b.
template <typename Visit>
void for_each_batch(const Model<float>& model, const Dataset& data, std::size_t batch, std::size_t depth,
                    Visit visit) {
  if (batch == 0) throw ConfigError("evaluation batch must be at least 1");
  const ModelSpec& spec = model.spec();
  if (data.features() != spec.inputs) {
    throw ConfigError(fmt::format("the model takes {} inputs ({}x{} images) but the images in {} have {}x{} = {}",
                                  spec.inputs, spec.image_rows, spec.image_cols, data.name, data.rows, data.cols,
                                  data.features()));
  }
  if (data.count == 0) return;
  std::vector<std::uint32_t> order(data.count);
  std::iota(order.begin(), order.end(), 0u);
  const std::size_t batches = (data.count + batch - 1) / batch;
  const std::size_t most_rows = piece_rows(data.features());
  const PixelScale pixels = pixel_scale(spec.normalize);
  // The first layer straight from the pixel bytes, where it applies: the same floats, faster.
  const std::unique_ptr<PixelFirstLayer> first_layer = PixelFirstLayer::for_data(model, depth, data);
  auto run_batches = [&](std::size_t first, std::size_t stride) {
    const ReusePackedWeights reuse(model.parameters());  // the pieces share one layout of the weights
    Workspace<float> workspace;
    Matrix<float> x, first_out, out;
    std::vector<std::uint8_t> labels;
    for (std::size_t b = first; b < batches; b += stride) {
      const std::size_t begin = b * batch, rows = std::min(batch, data.count - begin);
      labels.resize(rows);
      const std::size_t pieces = (rows + most_rows - 1) / most_rows;
      for (std::size_t p = 0; p < pieces; ++p) {
        const std::size_t from = rows * p / pieces, to = rows * (p + 1) / pieces;
        ConstMatrixView<float> y;
        if (first_layer != nullptr && first_layer->runs_for(to - from)) {
          // The data set's order: a piece's images lie one after another.
          std::copy_n(data.labels.begin() + static_cast<std::ptrdiff_t>(begin + from), to - from,
                      labels.begin() + static_cast<std::ptrdiff_t>(from));
          first_layer->run(data.image(begin + from), to - from, first_out);
          y = model.forward_from(workspace, first_out, first_layer->layers_done(), depth);
        } else {
          x.resize(to - from, data.features());
          gather_batch(data, std::span(order).subspan(begin + from, to - from), pixels, x,
                       std::span(labels).subspan(from, to - from));
          y = model.forward(workspace, x, depth);
        }
        if (p == 0) out.resize(rows, y.cols);
        std::copy_n(y.data, y.rows * y.cols, out.view().row(from));
      }
      visit(b, ConstMatrixView<float>(out), std::span<const std::uint8_t>(labels));
    }
  };
  if (batches < 2 || kernel_threads() == 1) {
    run_batches(0, 1);
    return;
  }
  with_kernel_team([&](ThreadTeam* team) {
    if (team == nullptr) {
      run_batches(0, 1);
      return;
    }
    const auto members = static_cast<std::size_t>(team->size());
    team->run([&](int member) { run_batches(static_cast<std::size_t>(member), members); });
  });
}

}  // namespace

Evaluation evaluate(const Model<float>& model, const Dataset& data, std::size_t batch, double label_smoothing) {
  const ModelSpec& spec = model.spec();
  const std::size_t classes = model.classes();
  check_labels(data, classes);
  const auto loss = make_loss<float>(spec.loss, static_cast<float>(label_smoothing));
  // Each batch writes its own slots; the sums are taken afterwards, in order.
  std::vector<double> batch_loss(batch == 0 ? 0 : (data.count + batch - 1) / batch);
  std::vector<std::size_t> predicted(data.count);
  for_each_batch(model, data, batch, model.loss_depth(), [&](std::size_t b, ConstMatrixView<float> out,
                                                            std::span<const std::uint8_t> labels) {
    batch_loss[b] = loss->sum(out, labels);
    for (std::size_t r = 0; r < out.rows; ++r) predicted[b * batch + r] = argmax(out.row(r), classes);
  });
  Evaluation result;
  result.n = data.count;
  result.confusion.assign(classes, std::vector<std::size_t>(classes, 0));
  if (data.count == 0) return result;
  for (std::size_t i = 0; i < data.count; ++i) ++result.confusion[data.labels[i]][predicted[i]];
  std::size_t correct = 0;
  result.per_class_accuracy.resize(classes);
  for (std::size_t c = 0; c < classes; ++c) {
    correct += result.confusion[c][c];
    const std::size_t total =
        std::accumulate(result.confusion[c].begin(), result.confusion[c].end(), std::size_t{0});
    if (total > 0) {
      result.per_class_accuracy[c] = static_cast<double>(result.confusion[c][c]) / static_cast<double>(total);
    }
  }
  const double n = static_cast<double>(data.count);
  result.loss = std::accumulate(batch_loss.begin(), batch_loss.end(), 0.0) / n;
  result.accuracy = static_cast<double>(correct) / n;
  result.standard_error = std::sqrt(result.accuracy * (1 - result.accuracy) / n);
  return result;
}

std::vector<Prediction> predict_all(const Model<float>& model, const Dataset& data, std::size_t batch) {
  const std::size_t classes = model.classes();
  std::vector<Prediction> result(data.count);
  for_each_batch(model, data, batch, model.depth(), [&](std::size_t b, ConstMatrixView<float> out,
                                                        std::span<const std::uint8_t> labels) {
    for (std::size_t r = 0; r < out.rows; ++r) {
      const auto p = probabilities(out.row(r), classes, model.output_kind());
      const std::size_t predicted = argmax(out.row(r), classes);
      const std::size_t index = b * batch + r;
      result[index] = {index, labels[r], static_cast<std::uint8_t>(predicted), p[predicted]};
    }
  });
  return result;
}

}  // namespace bpnet
