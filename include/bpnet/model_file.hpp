// Model files (.bpn): self-describing and versioned. Layout in docs/model-format.md:
//   "BPNETMDL" | u32 version | u32 H | H bytes of JSON (input, layer list,
//   loss, preprocessing) | u64 P | P float32 parameters | u64 S | S float32
//   buffers | u32 CRC-32 of all before
// Version 1 files (no buffers, the --layers shorthand as header) still load.
// All integers and floats little-endian. A save/load round trip is bit-exact.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bpnet/model.hpp"

namespace bpnet {

inline constexpr std::uint32_t kModelFormatVersion = 2;

std::vector<std::uint8_t> encode_model(const Model<float>& model);
// Throws ModelFileError naming `name` and what is wrong.
std::unique_ptr<Model<float>> decode_model(std::span<const std::uint8_t> bytes,
                                             const std::string& name);

// Atomic (temporary file + rename); throws WriteError on failure.
void save_model(const std::filesystem::path& path, const Model<float>& model);
std::unique_ptr<Model<float>> load_model(const std::filesystem::path& path);

}  // namespace bpnet
