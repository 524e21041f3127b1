// Checks the command line applies to option values before they are converted.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace bpnet::cli {

// For unsigned options: "-1" would otherwise wrap around to 2^64 - 1.
inline CLI::Validator not_negative() {
  return CLI::Validator(
      [](std::string& value) {
        return !value.empty() && value.front() == '-' ? "must not be negative (got " + value + ")" : std::string();
      },
      "", "not negative");
}

// Pictures are written in one format each: refuse "x.jpg" for a PNG rather
// than write PNG bytes under a JPEG name. Throws ConfigError.
void check_extension(const std::string& path, const std::string& extension, const std::string& flag);

}  // namespace bpnet::cli
