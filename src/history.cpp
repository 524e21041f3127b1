#include "bpnet/history.hpp"

#include <fmt/format.h>

#include <fstream>

#include "bpnet/error.hpp"
#include "bpnet/version.hpp"
#include "json_forms.hpp"

namespace bpnet {

namespace {

nlohmann::json config_with_origin(const TrainConfig& config, const RunOrigin& origin) {
  nlohmann::json j = config_to_json(config);
  j["preset"] = origin.preset;
  j["data"] = origin.data;
  j["bpnet_version"] = kVersion;
  return j;
}

}  // namespace

namespace {

nlohmann::json optional_number(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

nlohmann::json diagnostics_to_json(const std::vector<EpochDiagnostics>& epochs) {
  nlohmann::json list = nlohmann::json::array();
  for (const EpochDiagnostics& e : epochs) {
    nlohmann::json layers = nlohmann::json::array(), histograms = nlohmann::json::array();
    for (const LayerDiagnostics& d : e.layers) {
      layers.push_back({{"layer", d.layer}, {"type", d.type}, {"gradient_norm", optional_number(d.gradient_norm)},
                        {"update_ratio", optional_number(d.update_ratio)}, {"saturated", optional_number(d.saturated)},
                        {"dead", optional_number(d.dead)}});
    }
    for (const Histogram& h : e.histograms) {
      histograms.push_back({{"layer", h.layer}, {"of", h.of}, {"low", h.low}, {"high", h.high}, {"counts", h.counts}});
    }
    list.push_back({{"epoch", e.epoch}, {"layers", layers}, {"histograms", histograms}});
  }
  return list;
}

}  // namespace

std::string history_json(const TrainConfig& config, const RunOrigin& origin, const std::vector<EpochRecord>& epochs,
                         const RunOutcome& outcome) {
  nlohmann::json test = nullptr;
  if (outcome.test) test = {{"loss", outcome.test->loss}, {"accuracy", outcome.test->accuracy}, {"n", outcome.test->n}};
  const nlohmann::json j = {{"config", config_with_origin(config, origin)},
                            {"epochs", epochs_to_json(epochs)},
                            {"test", test},
                            {"train_seconds", outcome.train_seconds},
                            {"best_epoch", outcome.best_epoch == 0 ? nlohmann::json(nullptr) : nlohmann::json(outcome.best_epoch)},
                            {"stopped_by", outcome.stopped_by}};
  nlohmann::json out = j;
  if (!outcome.diagnostics.empty()) out["diagnostics"] = diagnostics_to_json(outcome.diagnostics);
  return out.dump(2) + "\n";
}

std::string config_json(const TrainConfig& config, const RunOrigin& origin) {
  return config_with_origin(config, origin).dump(2) + "\n";
}

std::string evaluation_json(const Evaluation& evaluation) { return evaluation_to_json(evaluation).dump(); }

std::vector<EpochRecord> read_history_epochs(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw DataError(path.string(), std::filesystem::exists(path, ec) ? "not a regular file" : "no such file");
  }
  std::ifstream in(path);
  if (!in) throw DataError(path.string(), "cannot open history file");
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    const std::vector<EpochRecord> epochs = epochs_from_json(j.at("epochs"));
    if (epochs.empty()) throw DataError(path.string(), "history has no epochs");
    return epochs;
  } catch (const nlohmann::json::exception& e) {
    throw DataError(path.string(), fmt::format("not a bpnet history file: {}", describe(e)));
  }
}

}  // namespace bpnet
