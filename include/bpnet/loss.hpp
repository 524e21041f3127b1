// Losses over a batch. input: (B, C) as the loss_depth() of the network
// produces it; labels: (B), each in [0, C). PyTorch's meanings:
//   NLLLoss           input = log-probabilities, loss = -input[label]
//   CrossEntropyLoss  input = logits, softmax fused: loss = logsumexp - input[label],
//                     gradient softmax(input) - onehot(label)
//   MSELoss           loss = mean over the C outputs of (input - onehot(label))^2
// With label smoothing e (NLLLoss and CrossEntropyLoss, PyTorch's
// label_smoothing) the one-hot target becomes (1 - e) onehot(label) + e / C.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "bpnet/spec.hpp"
#include "bpnet/tensor.hpp"

namespace bpnet {

template <typename T>
class Loss {
 public:
  virtual ~Loss() = default;
  virtual std::string_view type() const = 0;
  // Sum over the batch of the per-sample loss, accumulated in double.
  double sum(ConstMatrixView<T> input, std::span<const std::uint8_t> labels) const {
    return compute(input, labels, nullptr, T(0));
  }
  // The same sum, and grad (B, C) = scale * d(sum)/d(input). With
  // scale = 1/B the gradient is that of the batch mean, as PyTorch reduces.
  double sum_and_gradient(ConstMatrixView<T> input, std::span<const std::uint8_t> labels,
                          MatrixView<T> grad, T scale) const {
    return compute(input, labels, &grad, scale);
  }

 protected:
  virtual double compute(ConstMatrixView<T> input, std::span<const std::uint8_t> labels,
                         MatrixView<T>* grad, T scale) const = 0;
};

// label_smoothing in [0, 1), 0 for mse; throws ConfigError otherwise.
template <typename T>
std::unique_ptr<Loss<T>> make_loss(LossKind kind, T label_smoothing = 0);

// Index of the largest entry of each row: the predicted class for any output
// (softmax, log-softmax and logits all share their argmax).
template <typename T>
std::size_t argmax(const T* row, std::size_t n);

}  // namespace bpnet
