// Little-endian binary encoding shared by model files and checkpoints:
// a front-to-back writer of known size, unaligned reads, and zlib's CRC-32.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <vector>

namespace bpnet::binary {

static_assert(std::endian::native == std::endian::little,
              "bpnet files are little-endian; add byte swapping for this host");

class Writer {
 public:
  explicit Writer(std::size_t size) : bytes_(size) {}
  void raw(const void* data, std::size_t size) {
    if (size == 0) return;  // an empty vector's data() may be null, which memcpy must not see
    std::memcpy(bytes_.data() + used_, data, size);
    used_ += size;
  }
  template <typename U>
  void value(U v) {
    raw(&v, sizeof v);
  }
  std::span<const std::uint8_t> written() const { return std::span(bytes_).first(used_); }
  std::vector<std::uint8_t> take() { return std::move(bytes_); }

 private:
  std::vector<std::uint8_t> bytes_;
  std::size_t used_ = 0;
};

// The caller has checked that offset + sizeof(U) <= bytes.size().
template <typename U>
U read_at(std::span<const std::uint8_t> bytes, std::size_t offset) {
  U value;
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

std::uint32_t crc32_of(std::span<const std::uint8_t> bytes);

// The whole of a regular file of at most max_bytes; throws ModelFileError.
std::vector<std::uint8_t> read_whole_file(const std::filesystem::path& path, std::uint64_t max_bytes);

}  // namespace bpnet::binary
