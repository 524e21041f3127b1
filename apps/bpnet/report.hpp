// Text shared by the subcommands that print evaluation results.
#pragma once

#include <string>

#include "bpnet/evaluate.hpp"

namespace bpnet::cli {

// "accuracy 96.71% ± 0.18% (n = 10000), loss 0.1093"
std::string accuracy_summary(const Evaluation& result);

// Per-class accuracy and the confusion matrix as aligned text tables.
std::string evaluation_tables(const Evaluation& result);

}  // namespace bpnet::cli
