// --arch files: a JSON array of layers.
#include <fmt/format.h>

#include <fstream>
#include <iterator>

#include "bpnet/error.hpp"
#include "bpnet/layer_registry.hpp"
#include "bpnet/spec.hpp"
#include "json_forms.hpp"

namespace bpnet {
namespace {

constexpr std::uintmax_t kMaxArchFileBytes = 1 << 20;

}  // namespace

std::vector<LayerSpec> read_layer_list(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw ConfigError(fmt::format("{}: no such file (--arch takes a JSON file with a list of layers)", name));
  }
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec || size > kMaxArchFileBytes) {
    throw ConfigError(fmt::format("{}: not a layer list (more than {} bytes, or unreadable)", name, kMaxArchFileBytes));
  }
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in && !in.eof()) throw ConfigError(fmt::format("{}: cannot be read", name));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw ConfigError(fmt::format("{}: not valid JSON at byte {}", name, e.byte));
  }
  try {
    std::vector<LayerSpec> layers = layers_from_json(j);
    for (std::size_t i = 0; i < layers.size(); ++i) check_layer_spec(layers[i], fmt::format("layer {}", i + 1));
    return layers;
  } catch (const ConfigError& e) {
    throw ConfigError(fmt::format("{}: {}", name, e.what()));
  }
}

}  // namespace bpnet
