// Model files (.bpn): self-describing and versioned. Layout in docs/model-format.md:
//   "BPNETMDL" | u32 version | u32 H | H bytes of JSON (architecture and
//   preprocessing) | u64 P | P float32 parameters | u32 CRC-32 of all before
// All integers and floats little-endian. A save/load round trip is bit-exact.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bpnet/network.hpp"

namespace bpnet {

inline constexpr std::uint32_t kModelFormatVersion = 1;

std::vector<std::uint8_t> encode_model(const Network<float>& network);
// Throws ModelFileError naming `name` and what is wrong.
std::unique_ptr<Network<float>> decode_model(std::span<const std::uint8_t> bytes,
                                             const std::string& name);

// Atomic (temporary file + rename); throws WriteError on failure.
void save_model(const std::filesystem::path& path, const Network<float>& network);
std::unique_ptr<Network<float>> load_model(const std::filesystem::path& path);

}  // namespace bpnet
