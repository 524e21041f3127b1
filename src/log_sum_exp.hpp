// Internal: log(sum_j e^x_j) of one row, shifted by the row's maximum so that
// exp() stays finite. Shared by LogSoftmax and the fused CrossEntropyLoss.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace bpnet {

template <typename T>
T log_sum_exp(const T* row, std::size_t n) {
  const T shift = *std::max_element(row, row + n);
  T total = 0;
  for (std::size_t j = 0; j < n; ++j) total += std::exp(row[j] - shift);
  return shift + std::log(total);
}

}  // namespace bpnet
