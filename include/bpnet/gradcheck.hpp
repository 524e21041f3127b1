// Finite-difference gradient checks, in double precision, shipped in the
// library so a user's own Layer can be checked the same way bpnet's are.
//
// For a layer, the scalar checked is L = sum(y * R) for a fixed random R, so
// dL/dy = R exercises every output. Central differences with `step` are
// compared to backward_input (dL/dx) and parameter_gradient (dL/dp).
#pragma once

#include <cstdint>
#include <span>

#include "bpnet/layers.hpp"
#include "bpnet/loss.hpp"
#include "bpnet/model.hpp"
#include "bpnet/random.hpp"

namespace bpnet {

struct GradientCheck {
  // Largest |analytic - numeric| / max(|analytic| + |numeric|, 1e-4) over entries.
  double input_error = 0;
  double parameter_error = 0;
  // Euclidean norms of the analytic gradients: a check only means something if
  // they are not zero.
  double input_gradient_norm = 0;
  double parameter_gradient_norm = 0;
};

// Binds `layer` to fresh buffers, initialises it from `rng` (PyTorch init),
// moves each parameter by U(-0.5, 0.5), and checks both gradients at input x: (B, in), in `mode`. The context's
// random stream is fixed, so a Dropout layer keeps one mask throughout.
GradientCheck check_layer_gradients(Layer<double>& layer, ConstMatrixView<double> x, Rng& rng,
                                    Mode mode = Mode::train, double step = 1e-6);

// Checks d(sum loss)/d(input) for input: (B, C) and labels (B).
GradientCheck check_loss_gradient(const Loss<double>& loss, ConstMatrixView<double> input,
                                  std::span<const std::uint8_t> labels, double step = 1e-6);

// Checks a whole model with its loss (at loss_depth()) end to end, in
// training mode with fixed dropout masks: the parameter gradient of the
// summed loss over the batch.
GradientCheck check_model_gradients(Model<double>& model, ConstMatrixView<double> x,
                                    std::span<const std::uint8_t> labels, double step = 1e-6);

}  // namespace bpnet
