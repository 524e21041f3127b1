// IDX files (the MNIST format): a 4-byte magic {0, 0, type, rank}, rank
// big-endian uint32 dimensions, then the values. bpnet reads unsigned-byte
// IDX (type 0x08), raw or gzip-compressed (recognised by content, not name).
//
// Files are untrusted: everything is validated before anything is allocated
// for it, and every failure is a DataError naming the file, the byte offset,
// what was expected and what was found.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace bpnet {

struct IdxArray {
  std::vector<std::uint32_t> dims;   // rank entries, each >= 1
  std::vector<std::uint8_t> values;  // product(dims) bytes, row-major
};

// Largest payload accepted, far above any IDX data set in use (MNIST's
// training images are 47 MB), so absurd headers fail before allocating.
inline constexpr std::uint64_t kMaxIdxPayloadBytes = std::uint64_t{8} << 30;

// Reads `path` and checks it holds an unsigned-byte IDX array of `rank`.
IdxArray read_idx(const std::filesystem::path& path, std::size_t rank);

// Only the dimensions of `path`'s header (inflating no more of a gzip file
// than the header), so that a pair of files can be compared before either
// payload is read. Throws DataError like read_idx.
std::vector<std::uint32_t> read_idx_dims(const std::filesystem::path& path, std::size_t rank);

// Validates and copies an in-memory IDX image; `name` is used in errors.
IdxArray parse_idx(std::span<const std::uint8_t> bytes, const std::string& name,
                   std::size_t rank);

// The total byte length a valid file with this header prefix must have, or 0
// while the prefix is still too short to tell. Throws DataError on a header
// that is already wrong.
std::uint64_t idx_expected_length(std::span<const std::uint8_t> prefix, const std::string& name,
                                  std::size_t rank);

}  // namespace bpnet
