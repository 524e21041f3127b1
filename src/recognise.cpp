#include "bpnet/recognise.hpp"

#include <fmt/format.h>

#include <cmath>

#include "bpnet/error.hpp"
#include "bpnet/loss.hpp"
#include "bpnet/preprocess.hpp"

namespace bpnet {

std::pair<std::size_t, std::size_t> image_shape(const Model<float>& model) {
  const ModelSpec& spec = model.spec();
  if (spec.image_rows > 0) return {spec.image_rows, spec.image_cols};
  const auto side = static_cast<std::size_t>(std::lround(std::sqrt(static_cast<double>(model.inputs()))));
  if (side * side == model.inputs()) return {side, side};
  throw ConfigError(fmt::format("the model takes {} inputs and does not say what image shape they come from",
                                model.inputs()));
}

Recognition recognise_prepared(Predictor& predictor, DigitImage input) {
  const Model<float>& model = predictor.model();
  Matrix<float> x(1, model.inputs());
  const PixelScale pixels = pixel_scale(model.spec().normalize);
  for (std::size_t i = 0; i < model.inputs(); ++i) x(0, i) = pixels(input.pixels[i]);
  const ConstMatrixView<float> out = predictor.forward(x);
  Recognition result;
  result.label = argmax(out.row(0), model.classes());
  result.probabilities = probabilities(out.row(0), model.classes(), model.output_kind());
  result.input = std::move(input);
  return result;
}

Recognition recognise(Predictor& predictor, const GreyImage& image, const std::string& name) {
  const auto [rows, cols] = image_shape(predictor.model());
  return recognise_prepared(predictor, mnist_style(image, rows, cols, name));
}

}  // namespace bpnet
