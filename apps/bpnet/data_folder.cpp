#include <cstdlib>

#include "commands.hpp"

namespace bpnet::cli {

std::string default_data_dir() {
  const char* from_environment = std::getenv("BPNET_DATA");
  return from_environment != nullptr && *from_environment != '\0' ? from_environment : "data/mnist";
}

}  // namespace bpnet::cli
