// Running a trained model: a Predictor is a model (shared, const) plus its
// own workspace. It is cheap to make, so a server or a test runs one per
// thread; many predictors of one model run at once without locks.
#pragma once

#include <cstddef>
#include <vector>

#include "bpnet/model.hpp"

namespace bpnet {

class Predictor {
 public:
  // The model must outlive the predictor and not change while it is used.
  explicit Predictor(const Model<float>& model) : model_(&model) {}

  const Model<float>& model() const { return *model_; }

  // The last layer's output (B, C) for x (B, inputs), in eval mode; valid
  // until the next call. Throws ConfigError if x is not inputs() wide.
  ConstMatrixView<float> forward(ConstMatrixView<float> x) { return model_->forward(workspace_, x); }
  // What the loss sees (before a fused Softmax).
  ConstMatrixView<float> forward_to_loss(ConstMatrixView<float> x) {
    return model_->forward(workspace_, x, model_->loss_depth());
  }

 private:
  const Model<float>* model_;
  Workspace<float> workspace_;
};

// Class probabilities from one row of a model's output, whatever its last
// layer: softmax rows as they are, exp of log-softmax, softmax of logits.
std::vector<double> probabilities(const float* output_row, std::size_t classes, Output output);

}  // namespace bpnet
