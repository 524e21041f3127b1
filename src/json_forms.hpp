// Internal: the one JSON form of each type that files store (model files,
// checkpoints, history and config files, --arch files). Readers throw
// ConfigError or nlohmann::json exceptions; callers add the file name.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "bpnet/evaluate.hpp"
#include "bpnet/spec.hpp"
#include "bpnet/train.hpp"

namespace bpnet {

// {"type": "Linear", "out": 128}: the type, then each attribute as a number.
nlohmann::json layer_to_json(const LayerSpec& layer);
// `where` names the entry in messages ("layer 2").
LayerSpec layer_from_json(const nlohmann::json& j, const std::string& where);
nlohmann::json layers_to_json(const std::vector<LayerSpec>& layers);
std::vector<LayerSpec> layers_from_json(const nlohmann::json& j);

// {"inputs", "image_shape", "layers", "loss", "normalize"}; validated.
nlohmann::json model_spec_to_json(const ModelSpec& spec);
ModelSpec model_spec_from_json(const nlohmann::json& j);

nlohmann::json config_to_json(const TrainConfig& config);
TrainConfig config_from_json(const nlohmann::json& j);

nlohmann::json epochs_to_json(const std::vector<EpochRecord>& epochs);
std::vector<EpochRecord> epochs_from_json(const nlohmann::json& rows);

nlohmann::json evaluation_to_json(const Evaluation& evaluation);

// A JSON library exception in words for a user: "not valid JSON at byte 14",
// "key 'epochs' not found", without the library's "[json.exception...]" tag.
std::string describe(const nlohmann::json::exception& e);

}  // namespace bpnet
