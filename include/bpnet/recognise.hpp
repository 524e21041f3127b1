// Recognising a user's picture of a digit with a trained model: the image
// made MNIST-style (digit_image.hpp) at the model's own input shape, then
// normalised as the model was trained and run. Shared by `bpnet predict` and
// `bpnet serve`.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "bpnet/digit_image.hpp"
#include "bpnet/predictor.hpp"

namespace bpnet {

struct Recognition {
  DigitImage input;                   // what the network saw
  std::size_t label = 0;              // the predicted class
  std::vector<double> probabilities;  // one per class
};

// The image shape a model takes: from its file, else the square root of its
// inputs when that is whole. Throws ConfigError if neither is known.
std::pair<std::size_t, std::size_t> image_shape(const Model<float>& model);

// Throws DataError naming `name` (no digit found) or ConfigError (a model
// without an image shape).
Recognition recognise(Predictor& predictor, const GreyImage& image, const std::string& name);
// The same for pixels already MNIST-style (rows x cols of the model, 0 = background).
Recognition recognise_prepared(Predictor& predictor, DigitImage input);

}  // namespace bpnet
