#include "cli_checks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "bpnet/error.hpp"

namespace bpnet::cli {

void check_extension(const std::string& path, const std::string& extension, const std::string& flag) {
  std::string found = std::filesystem::path(path).extension().string();
  std::transform(found.begin(), found.end(), found.begin(), [](unsigned char c) { return std::tolower(c); });
  if (found != extension) {
    throw ConfigError(fmt::format("{} {}: bpnet writes {} files here; give a name ending in {}", flag, path,
                                  extension.substr(1), extension));
  }
}

}  // namespace bpnet::cli
