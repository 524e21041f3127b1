#include "bpnet/loss.hpp"

#include <algorithm>
#include <cmath>

#include "log_sum_exp.hpp"

namespace bpnet {
namespace {

template <typename T>
class NLLLoss final : public Loss<T> {
 public:
  std::string_view type() const override { return "NLLLoss"; }

 protected:
  double compute(ConstMatrixView<T> input, std::span<const std::uint8_t> labels,
                 MatrixView<T>* grad, T scale) const override {
    double total = 0;
    for (std::size_t r = 0; r < input.rows; ++r) {
      total -= static_cast<double>(input(r, labels[r]));
      if (grad) {
        std::fill_n(grad->row(r), input.cols, T(0));
        (*grad)(r, labels[r]) = -scale;
      }
    }
    return total;
  }
};

template <typename T>
class CrossEntropyLoss final : public Loss<T> {
 public:
  std::string_view type() const override { return "CrossEntropyLoss"; }

 protected:
  double compute(ConstMatrixView<T> input, std::span<const std::uint8_t> labels,
                 MatrixView<T>* grad, T scale) const override {
    double total = 0;
    for (std::size_t r = 0; r < input.rows; ++r) {
      const T* z = input.row(r);
      const T log_total = log_sum_exp(z, input.cols);
      total += static_cast<double>(log_total - z[labels[r]]);
      if (grad) {
        T* g = grad->row(r);
        for (std::size_t j = 0; j < input.cols; ++j) g[j] = scale * std::exp(z[j] - log_total);
        g[labels[r]] -= scale;
      }
    }
    return total;
  }
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
std::unique_ptr<Loss<T>> make_loss(LossKind kind) {
  switch (kind) {
    case LossKind::nll: return std::make_unique<NLLLoss<T>>();
    case LossKind::cross_entropy: return std::make_unique<CrossEntropyLoss<T>>();
    case LossKind::mse: return std::make_unique<MSELoss<T>>();
  }
  return nullptr;
}

template <typename T>
std::size_t argmax(const T* row, std::size_t n) {
  return static_cast<std::size_t>(std::max_element(row, row + n) - row);
}

template std::unique_ptr<Loss<float>> make_loss<float>(LossKind);
template std::unique_ptr<Loss<double>> make_loss<double>(LossKind);
template std::size_t argmax<float>(const float*, std::size_t);
template std::size_t argmax<double>(const double*, std::size_t);

}  // namespace bpnet
