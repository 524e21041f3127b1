#include "bpnet/predictor.hpp"

#include <cmath>

#include "bpnet/loss.hpp"

namespace bpnet {

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

}  // namespace bpnet
