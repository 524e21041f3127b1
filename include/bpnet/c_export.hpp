// A trained model as one dependency-free C99 file: the weights as static
// const float arrays and
//   int bpnet_predict(const float *input, float *probabilities);
// which returns the predicted class and fills one probability per class.
// The file's header comment documents the input and its normalisation.
// Library bpnet_interop.
#pragma once

#include <filesystem>
#include <string>

#include "bpnet/model.hpp"

namespace bpnet {

// `origin` names the model in the file's comment (e.g. its path).
// Throws ConfigError for a layer the C file cannot express.
std::string c_source(const Model<float>& model, const std::string& origin);
// Atomic (temporary file + rename); throws WriteError on failure.
void export_c(const std::filesystem::path& path, const Model<float>& model, const std::string& origin);

}  // namespace bpnet
