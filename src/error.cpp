#include "bpnet/error.hpp"

#include <fmt/format.h>

namespace bpnet {

DataError::DataError(const std::string& file, std::uint64_t offset, const std::string& expected,
                     const std::string& found)
    : Error(fmt::format("{}: at byte {}: expected {}, found {}", file, offset, expected, found)),
      file_(file) {}

DataError::DataError(const std::string& file, const std::string& problem)
    : Error(fmt::format("{}: {}", file, problem)), file_(file) {}

ModelFileError::ModelFileError(const std::string& file, const std::string& problem)
    : Error(fmt::format("{}: {}", file, problem)) {}

WriteError::WriteError(const std::string& file, const std::string& problem)
    : Error(fmt::format("cannot write {}: {}", file, problem)) {}

}  // namespace bpnet
