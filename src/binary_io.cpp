#include "binary_io.hpp"

#include <zlib.h>

#include <algorithm>
#include <fstream>

#include "bpnet/error.hpp"

namespace bpnet::binary {

std::uint32_t crc32_of(std::span<const std::uint8_t> bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths; feed large buffers in pieces.
  for (std::size_t done = 0; done < bytes.size();) {
    const std::size_t piece = std::min<std::size_t>(bytes.size() - done, 1u << 30);
    crc = crc32(crc, bytes.data() + done, static_cast<uInt>(piece));
    done += piece;
  }
  return static_cast<std::uint32_t>(crc);
}

std::vector<std::uint8_t> read_whole_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw ModelFileError(path.string(), std::filesystem::exists(path, ec) ? "not a regular file" : "no such file");
  }
  const std::uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) throw ModelFileError(path.string(), ec.message());
  if (size > max_bytes) throw ModelFileError(path.string(), "file is too large for its kind");
  std::vector<std::uint8_t> bytes(size);
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size))) {
    throw ModelFileError(path.string(), "read error");
  }
  return bytes;
}

}  // namespace bpnet::binary
