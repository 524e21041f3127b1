// Measuring a trained network on a labelled data set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "bpnet/dataset.hpp"
#include "bpnet/model.hpp"
#include "bpnet/predictor.hpp"

namespace bpnet {

struct Evaluation {
  std::size_t n = 0;                        // images evaluated
  double loss = 0;                          // mean loss (the model's own loss function)
  double accuracy = 0;                      // fraction correct, in [0, 1]
  double standard_error = 0;                // of the accuracy: sqrt(p (1 - p) / n)
  // (C): recall of each true class; empty for a class with no images here
  // (n/a, not 0%).
  std::vector<std::optional<double>> per_class_accuracy;
  std::vector<std::vector<std::size_t>> confusion;  // (C, C): [true][predicted] counts
};

// Runs the model (eval mode) over `data` in batches of `batch` images (>= 1).
// The loss takes `label_smoothing` (in [0, 1), as in training; 0 is the
// model's plain loss). Throws ConfigError if the images do not fit the
// model, DataError if a label is not one of its classes.
Evaluation evaluate(const Model<float>& model, const Dataset& data, std::size_t batch = 1000,
                    double label_smoothing = 0);

// What the network says about one image.
struct Prediction {
  std::size_t index = 0;     // position in the data set
  std::uint8_t label = 0;    // true class
  std::uint8_t predicted = 0;
  double confidence = 0;     // probability of the predicted class, in [0, 1]
};

// One Prediction per image of `data`, in order.
std::vector<Prediction> predict_all(const Model<float>& model, const Dataset& data, std::size_t batch = 1000);

}  // namespace bpnet
