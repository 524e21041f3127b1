#include "bpnet/loss.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "bpnet/error.hpp"

#include "log_sum_exp.hpp"

namespace bpnet {
namespace {

// Label smoothing (PyTorch's label_smoothing = e): the target of each row is
// (1 - e) onehot(label) + e / C instead of onehot(label).
template <typename T>
struct SmoothedTarget {
  T smoothing = 0;
  T on(std::size_t classes) const { return T(1) - smoothing + off(classes); }  // the label's share
  T off(std::size_t classes) const { return smoothing / static_cast<T>(classes); }  // every other class's
};

template <typename T>
double row_sum(const T* row, std::size_t n) {
  double total = 0;
  for (std::size_t j = 0; j < n; ++j) total += static_cast<double>(row[j]);
  return total;
}

template <typename T>
class NLLLoss final : public Loss<T> {
 public:
  explicit NLLLoss(T smoothing) : target_{smoothing} {}
  std::string_view type() const override { return "NLLLoss"; }

 protected:
  double compute(ConstMatrixView<T> input, std::span<const std::uint8_t> labels,
                 MatrixView<T>* grad, T scale) const override {
    const T on = target_.on(input.cols), off = target_.off(input.cols);
    double total = 0;
    for (std::size_t r = 0; r < input.rows; ++r) {
      // loss = -sum_j target_j input_j; with no smoothing, -input[label].
      total -= static_cast<double>(input(r, labels[r]));
      if (target_.smoothing > 0) {
        total += static_cast<double>(target_.smoothing) * static_cast<double>(input(r, labels[r])) -
                 static_cast<double>(off) * row_sum(input.row(r), input.cols);
      }
      if (grad) {
        std::fill_n(grad->row(r), input.cols, target_.smoothing > 0 ? -scale * off : T(0));
        (*grad)(r, labels[r]) = -scale * on;
      }
    }
    return total;
  }

 private:
  SmoothedTarget<T> target_;
};

template <typename T>
class CrossEntropyLoss final : public Loss<T> {
 public:
  explicit CrossEntropyLoss(T smoothing) : target_{smoothing} {}
  std::string_view type() const override { return "CrossEntropyLoss"; }

 protected:
  double compute(ConstMatrixView<T> input, std::span<const std::uint8_t> labels,
                 MatrixView<T>* grad, T scale) const override {
    const T on = target_.on(input.cols), off = target_.off(input.cols);
    double total = 0;
    for (std::size_t r = 0; r < input.rows; ++r) {
      const T* z = input.row(r);
      const T log_total = log_sum_exp(z, input.cols);
      // loss = logsumexp(z) - sum_j target_j z_j; gradient softmax(z) - target.
      total += static_cast<double>(log_total - z[labels[r]]);
      if (target_.smoothing > 0) {
        total += static_cast<double>(target_.smoothing) * static_cast<double>(z[labels[r]]) -
                 static_cast<double>(off) * row_sum(z, input.cols);
      }
      if (grad) {
        T* g = grad->row(r);
        for (std::size_t j = 0; j < input.cols; ++j) g[j] = scale * std::exp(z[j] - log_total);
        if (target_.smoothing > 0) {
          for (std::size_t j = 0; j < input.cols; ++j) g[j] -= scale * off;
          g[labels[r]] -= scale * (on - off);
        } else {
          g[labels[r]] -= scale;
        }
      }
    }
    return total;
  }

 private:
  SmoothedTarget<T> target_;
};

template <typename T>
class MSELoss final : public Loss<T> {
 public:
  std::string_view type() const override { return "MSELoss"; }

 protected:
  double compute(ConstMatrixView<T> input, std::span<const std::uint8_t> labels,
                 MatrixView<T>* grad, T scale) const override {
    const T classes = static_cast<T>(input.cols);
    double total = 0;
    for (std::size_t r = 0; r < input.rows; ++r) {
      double row_total = 0;
      for (std::size_t j = 0; j < input.cols; ++j) {
        const T diff = input(r, j) - (j == labels[r] ? T(1) : T(0));
        row_total += static_cast<double>(diff) * static_cast<double>(diff);
        if (grad) (*grad)(r, j) = scale * T(2) * diff / classes;
      }
      total += row_total / static_cast<double>(input.cols);
    }
    return total;
  }
};

}  // namespace

template <typename T>
std::unique_ptr<Loss<T>> make_loss(LossKind kind, T label_smoothing) {
  if (!(label_smoothing >= 0 && label_smoothing < 1)) {
    throw ConfigError(fmt::format("--label-smoothing must be in [0, 1) (got {})", label_smoothing));
  }
  if (label_smoothing > 0 && kind == LossKind::mse) {
    throw ConfigError("--label-smoothing needs the nll or cross-entropy loss, not mse");
  }
  switch (kind) {
    case LossKind::nll: return std::make_unique<NLLLoss<T>>(label_smoothing);
    case LossKind::cross_entropy: return std::make_unique<CrossEntropyLoss<T>>(label_smoothing);
    case LossKind::mse: return std::make_unique<MSELoss<T>>();
  }
  return nullptr;
}

template <typename T>
std::size_t argmax(const T* row, std::size_t n) {
  return static_cast<std::size_t>(std::max_element(row, row + n) - row);
}

template std::unique_ptr<Loss<float>> make_loss<float>(LossKind, float);
template std::unique_ptr<Loss<double>> make_loss<double>(LossKind, double);
template std::size_t argmax<float>(const float*, std::size_t);
template std::size_t argmax<double>(const double*, std::size_t);

}  // namespace bpnet
