#include "bpnet/evaluate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "batch_loader.hpp"
#include "bpnet/error.hpp"
#include "bpnet/loss.hpp"

namespace bpnet {
namespace {

// Checks that `data` fits the network, then calls visit(batch) for every
// batch of `batch` images, in the data set's order.
template <typename Visit>
void for_each_batch_in_order(const Model<float>& model, const Dataset& data, std::size_t batch, Visit visit) {
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
  BatchLoader loader(data, spec.normalize, batch, 0);
  loader.start_epoch(order);
  for (std::size_t b = 0; b < loader.batches_in_epoch(); ++b) visit(loader.next());
}

}  // namespace

Evaluation evaluate(const Model<float>& model, const Dataset& data, std::size_t batch, double label_smoothing) {
  const ModelSpec& spec = model.spec();
  const std::size_t classes = model.classes();
  check_labels(data, classes);
  const auto loss = make_loss<float>(spec.loss, static_cast<float>(label_smoothing));
  Evaluation result;
  result.n = data.count;
  result.confusion.assign(classes, std::vector<std::size_t>(classes, 0));
  double loss_sum = 0;
  Predictor predictor(model);
  for_each_batch_in_order(model, data, batch, [&](const Batch& chunk) {
    const ConstMatrixView<float> out = predictor.forward_to_loss(chunk.x);
    loss_sum += loss->sum(out, chunk.labels);
    for (std::size_t r = 0; r < out.rows; ++r) {
      ++result.confusion[chunk.labels[r]][argmax(out.row(r), classes)];
    }
  });
  if (data.count == 0) return result;
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
  result.loss = loss_sum / n;
  result.accuracy = static_cast<double>(correct) / n;
  result.standard_error = std::sqrt(result.accuracy * (1 - result.accuracy) / n);
  return result;
}

std::vector<Prediction> predict_all(const Model<float>& model, const Dataset& data, std::size_t batch) {
  const std::size_t classes = model.classes();
  std::vector<Prediction> result;
  result.reserve(data.count);
  Predictor predictor(model);
  for_each_batch_in_order(model, data, batch, [&](const Batch& chunk) {
    const ConstMatrixView<float> out = predictor.forward(chunk.x);
    for (std::size_t r = 0; r < out.rows; ++r) {
      const auto p = probabilities(out.row(r), classes, model.output_kind());
      const std::size_t predicted = argmax(out.row(r), classes);
      result.push_back({result.size(), chunk.labels[r], static_cast<std::uint8_t>(predicted), p[predicted]});
    }
  });
  return result;
}

}  // namespace bpnet
