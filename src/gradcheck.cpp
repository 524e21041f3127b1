#include "bpnet/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

namespace bpnet {
namespace {

double relative_error(double analytic, double numeric) {
  return std::abs(analytic - numeric) / std::max(std::abs(analytic) + std::abs(numeric), 1e-4);
}

double norm(std::span<const double> v) {
  double sum = 0;
  for (double x : v) sum += x * x;
  return std::sqrt(sum);
}

// Largest relative error between analytic[i] and the central difference of
// f() when values[i] moves by +-step.
double compare(std::span<double> values, std::span<const double> analytic,
               const std::function<double()>& f, double step) {
  double worst = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double saved = values[i];
    values[i] = saved + step;
    const double up = f();
    values[i] = saved - step;
    const double down = f();
    values[i] = saved;
    worst = std::max(worst, relative_error(analytic[i], (up - down) / (2 * step)));
  }
  return worst;
}

}  // namespace

GradientCheck check_layer_gradients(Layer<double>& layer, ConstMatrixView<double> x_in, Rng& rng, Mode mode,
                                    double step) {
  std::vector<double> params(layer.parameter_count()), param_grads(layer.parameter_count(), 0.0);
  std::vector<double> buffers(layer.buffer_count());
  layer.bind(params, buffers);
  layer.initialize(Init::torch, rng);
  // Move every parameter off its initial value, so that none sits where a
  // term of the gradient vanishes (BatchNorm's weight 1 and bias 0).
  for (double& p : params) p += rng.uniform(-0.5, 0.5);
  std::vector<double> scratch;
  const LayerContext<double> ctx{mode, RandomStream(1, 0, 0), &scratch};

  Matrix<double> x(x_in.rows, x_in.cols);
  std::copy(x_in.data, x_in.data + x_in.size(), x.data());
  Matrix<double> y(x.rows(), layer.out_features());
  Matrix<double> weights(x.rows(), layer.out_features());
  for (std::size_t i = 0; i < weights.rows() * weights.cols(); ++i) {
    weights.data()[i] = rng.uniform(-1, 1);
  }
  auto objective = [&] {
    layer.forward(ctx, x, y);
    double sum = 0;
    for (std::size_t i = 0; i < y.rows() * y.cols(); ++i) sum += y.data()[i] * weights.data()[i];
    return sum;
  };

  objective();
  Matrix<double> dx(x.rows(), x.cols());
  layer.backward_input(ctx, x, y, weights, dx);
  layer.parameter_gradient(ctx, x, weights, param_grads, GradientWrite::overwrite);

  GradientCheck result;
  const std::span<const double> dx_span(dx.data(), dx.rows() * dx.cols());
  result.input_gradient_norm = norm(dx_span);
  result.parameter_gradient_norm = norm(param_grads);
  result.input_error = compare({x.data(), x.rows() * x.cols()}, dx_span, objective, step);
  result.parameter_error = compare(params, param_grads, objective, step);
  return result;
}

GradientCheck check_loss_gradient(const Loss<double>& loss, ConstMatrixView<double> input_in,
                                  std::span<const std::uint8_t> labels, double step) {
  Matrix<double> input(input_in.rows, input_in.cols);
  std::copy(input_in.data, input_in.data + input_in.size(), input.data());
  Matrix<double> grad(input.rows(), input.cols());
  loss.sum_and_gradient(input, labels, grad, 1.0);
  const std::span<const double> grad_span(grad.data(), grad.rows() * grad.cols());
  GradientCheck result;
  result.input_gradient_norm = norm(grad_span);
  result.input_error = compare({input.data(), input.rows() * input.cols()}, grad_span,
                               [&] { return loss.sum(input, labels); }, step);
  return result;
}

GradientCheck check_model_gradients(Model<double>& model, ConstMatrixView<double> x,
                                    std::span<const std::uint8_t> labels, double step) {
  const auto loss = make_loss<double>(model.spec().loss);
  const TrainingStep fixed{1, 0};
  Workspace<double> ws;
  auto objective = [&] { return loss->sum(model.forward_train(ws, x, model.loss_depth(), fixed), labels); };
  const ConstMatrixView<double> out = model.forward_train(ws, x, model.loss_depth(), fixed);
  Matrix<double> d_out(out.rows, out.cols);
  loss->sum_and_gradient(out, labels, d_out, 1.0);
  model.zero_grad();
  model.backward(ws, x, d_out);
  const std::vector<double> analytic(model.gradients().begin(), model.gradients().end());
  GradientCheck result;
  result.parameter_gradient_norm = norm(analytic);
  result.parameter_error = compare(model.parameters(), analytic, objective, step);
  return result;
}

}  // namespace bpnet
