#include "report.hpp"

#include <fmt/format.h>

namespace bpnet::cli {

std::string accuracy_summary(const Evaluation& r) {
  return fmt::format("accuracy {:.2f}% ± {:.2f}% (n = {}), loss {:.4f}", 100 * r.accuracy,
                     100 * r.standard_error, r.n, r.loss);
}

std::string evaluation_tables(const Evaluation& r) {
  std::string out = "per-class accuracy:\n";
  for (std::size_t c = 0; c < r.per_class_accuracy.size(); ++c) {
    const auto& accuracy = r.per_class_accuracy[c];
    out += accuracy ? fmt::format("  class {:>2}: {:6.2f}%\n", c, 100 * *accuracy)
                    : fmt::format("  class {:>2}:     n/a (no test images)\n", c);
  }
  out += "confusion matrix (rows: true label, columns: predicted):\n      ";
  for (std::size_t c = 0; c < r.confusion.size(); ++c) out += fmt::format("{:>6}", c);
  out += "\n";
  for (std::size_t t = 0; t < r.confusion.size(); ++t) {
    out += fmt::format("  {:>2}: ", t);
    for (std::size_t count : r.confusion[t]) out += fmt::format("{:>6}", count);
    out += "\n";
  }
  return out;
}

}  // namespace bpnet::cli
