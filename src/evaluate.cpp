#include "bpnet/evaluate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "bpnet/batches.hpp"
#include "bpnet/error.hpp"
#include "bpnet/loss.hpp"

namespace bpnet {
namespace {

// Checks that `data` fits the network, then calls visit(batch) for every
// batch of `batch` images, in the data set's order.
template <typename Visit>
void for_each_batch_in_order(const Network<float>& network, const Dataset& data, std::size_t batch,
                             Visit visit) {
  if (batch == 0) throw ConfigError("evaluation batch must be at least 1");
  const ModelSpec& spec = network.spec();
  if (data.features() != spec.inputs()) {
    throw ConfigError(fmt::format("the model takes {} inputs but the images in {} have {}",
                                  spec.inputs(), data.name, data.features()));
  }
  if (data.count == 0) return;
  std::vector<std::uint32_t> order(data.count);
  std::iota(order.begin(), order.end(), 0u);
  BatchLoader loader(data, spec.normalize, batch, 0);
  loader.start_epoch(order);
  for (std::size_t b = 0; b < loader.batches_in_epoch(); ++b) visit(loader.next());
}

}  // namespace

Evaluation evaluate(Network<float>& network, const Dataset& data, std::size_t batch) {
  const ModelSpec& spec = network.spec();
  const std::size_t classes = spec.classes();
  check_labels(data, classes);
  const auto loss = make_loss<float>(spec.loss);
  Evaluation result;
  result.n = data.count;
  result.confusion.assign(classes, std::vector<std::size_t>(classes, 0));
  double loss_sum = 0;
  for_each_batch_in_order(network, data, batch, [&](const Batch& chunk) {
    const ConstMatrixView<float> out = network.forward(chunk.x, network.loss_depth());
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
    result.per_class_accuracy[c] =
        total == 0 ? 0.0 : static_cast<double>(result.confusion[c][c]) / static_cast<double>(total);
  }
  const double n = static_cast<double>(data.count);
  result.loss = loss_sum / n;
  result.accuracy = static_cast<double>(correct) / n;
  result.standard_error = std::sqrt(result.accuracy * (1 - result.accuracy) / n);
  return result;
}

std::vector<double> probabilities(const float* out, std::size_t classes, Output output) {
  std::vector<double> p(out, out + classes);
  if (output == Output::softmax) return p;
  if (output == Output::log_softmax) {
    for (double& v : p) v = std::exp(v);
    return p;
  }
  const double shift = p[argmax(out, classes)];  // keeps exp() finite
  double total = 0;
  for (double& v : p) total += v = std::exp(v - shift);
  for (double& v : p) v /= total;
  return p;
}

std::vector<Prediction> predict_all(Network<float>& network, const Dataset& data, std::size_t batch) {
  const ModelSpec& spec = network.spec();
  std::vector<Prediction> result;
  result.reserve(data.count);
  for_each_batch_in_order(network, data, batch, [&](const Batch& chunk) {
    const ConstMatrixView<float> out = network.forward(chunk.x);
    for (std::size_t r = 0; r < out.rows; ++r) {
      const auto p = probabilities(out.row(r), spec.classes(), spec.output);
      const std::size_t predicted = argmax(out.row(r), spec.classes());
      result.push_back({result.size(), chunk.labels[r], static_cast<std::uint8_t>(predicted), p[predicted]});
    }
  });
  return result;
}

}  // namespace bpnet
