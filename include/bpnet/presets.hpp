// The two reference experiments bpnet grew from, as ready-made configs.
//   torch-seed: the PyTorch tutorial. Inputs (x/255 - 0.5)/0.5; 784-128-64-10
//     ReLU, LogSoftmax + NLLLoss; SGD lr 0.003 momentum 0.9; batch 128,
//     shuffled; 15 epochs; no validation split.
//   keras-seed: the Keras tutorial. Inputs x/255; 784-128-10 ReLU, softmax +
//     sparse categorical cross-entropy; Adam lr 1e-3, betas 0.9/0.999, eps
//     1e-7; batch 64; 30 epochs; validation_split 0.2 (the last 20%);
//     Glorot-uniform weights and zero biases, as Keras initialises Dense.
//   simard-800: Simard et al. 2003's 784-800-10 without distortions: ReLU,
//     logits + cross-entropy, inputs x/255; SGD lr 0.05 momentum 0.9, cosine
//     schedule, batch 32, 30 epochs (chosen on a 10% validation split, see
//     README "The most accurate MLP").
//   simard-800-elastic: the same network trained on elastic distortions
//     (sigma 4, alpha 34, Simard's) for 200 epochs, distorted on 1 worker.
//   best: the most accurate recipe found for 90 minutes on the project's
//     2-core machine: 784-1024-1024-10 with BatchNorm1d and Dropout(0.2),
//     Adam, cosine, label smoothing 0.1, affine + elastic distortions
//     (Ciresan et al. 2010's bounds), 500 epochs (README "The most accurate MLP").
#pragma once

#include <string_view>
#include <vector>

#include "bpnet/train.hpp"

namespace bpnet {

std::vector<std::string_view> preset_names();
// Throws ConfigError for an unknown name, listing the known ones.
TrainConfig preset(std::string_view name);
// The --layers/--activation/--output shorthand the preset's model is made of,
// for flags that change part of it.
LayerShorthand preset_shorthand(std::string_view name);

}  // namespace bpnet
