// Measuring a trained network on a labelled data set.
#pragma once

#include <cstddef>
#include <vector>

#include "bpnet/dataset.hpp"
#include "bpnet/network.hpp"

namespace bpnet {

struct Evaluation {
  std::size_t n = 0;                        // images evaluated
  double loss = 0;                          // mean loss (the model's own loss function)
  double accuracy = 0;                      // fraction correct, in [0, 1]
  double standard_error = 0;                // of the accuracy: sqrt(p (1 - p) / n)
  std::vector<double> per_class_accuracy;   // (C): recall of each true class
  std::vector<std::vector<std::size_t>> confusion;  // (C, C): [true][predicted] counts
};

// Runs the network over `data` in batches of `batch` images (>= 1).
Evaluation evaluate(Network<float>& network, const Dataset& data, std::size_t batch = 1000);

}  // namespace bpnet
