#include "bpnet/idx.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <cstdio>
#include <memory>

#include "bpnet/aligned_vector.hpp"
#include "bpnet/error.hpp"

namespace bpnet {
namespace {

constexpr std::uint8_t kUnsignedByte = 0x08;

// Room for an n-byte payload, before it is written: a large one (a training
// set's pixels, read in random order) on huge pages.
void reserve_payload(std::vector<std::uint8_t>& values, std::size_t n) {
  values.reserve(n);
  if (n >= kHugePageWorthy) advise_huge_pages(values.data(), n);
}

std::string type_name(std::uint8_t code) {
  switch (code) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "an unknown type";
  }
}

std::uint32_t read_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

std::size_t header_length(std::size_t rank) { return 4 + 4 * rank; }

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

File open_for_reading(const std::filesystem::path& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) throw DataError(path.string(), "no such file");
  if (!std::filesystem::is_regular_file(status)) {
    throw DataError(path.string(), "not a regular file");
  }
  File file(std::fopen(path.c_str(), "rb"));
  if (!file) throw DataError(path.string(), "cannot open for reading");
  return file;
}

// Inflates a gzip file, but never more than the header it contains says the
// file holds (+1 byte, to detect trailing data): memory grows only with data
// that really arrives, so a tiny hostile file cannot claim gigabytes. With
// `header_only`, stops as soon as the IDX header has been inflated.
std::vector<std::uint8_t> read_gzip(const std::filesystem::path& path, std::size_t rank, bool header_only = false) {
  File file = open_for_reading(path);
  const std::string name = path.string();
  z_stream stream{};
  // 16 + MAX_WBITS: expect a gzip wrapper.
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) throw DataError(name, "zlib init failed");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&stream, inflateEnd);

  std::vector<std::uint8_t> out;
  std::uint64_t limit = 0;  // total length the header asks for; 0 until known
  std::vector<std::uint8_t> in(1 << 16);
  std::uint8_t chunk[1 << 16];
  bool stream_ended = false;
  while (true) {
    if (stream.avail_in == 0) {
      const std::size_t got = std::fread(in.data(), 1, in.size(), file.get());
      if (got == 0) break;
      stream.next_in = in.data();
      stream.avail_in = static_cast<uInt>(got);
    }
    if (stream_ended) {
      // Another gzip member follows (as `cat a.gz b.gz` makes); gunzip reads on.
      inflateReset(&stream);
      stream_ended = false;
    }
    stream.next_out = chunk;
    stream.avail_out = sizeof chunk;
    const int rc = inflate(&stream, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      throw DataError(name, fmt::format("corrupt gzip data ({})", stream.msg ? stream.msg : "zlib error"));
    }
    const std::size_t produced = sizeof chunk - stream.avail_out;
    out.insert(out.end(), chunk, chunk + produced);
    if (header_only && out.size() >= header_length(rank)) {
      out.resize(header_length(rank));
      return out;
    }
    if (limit == 0) limit = idx_expected_length(out, name, rank);
    if (limit != 0 && out.size() > limit) {
      out.resize(limit + 1);  // parse_idx reports the trailing bytes
      return out;
    }
    if (rc == Z_STREAM_END) stream_ended = true;
    if (rc == Z_BUF_ERROR && stream.avail_in != 0) {
      throw DataError(name, "corrupt gzip data (no progress)");
    }
  }
  if (!stream_ended) throw DataError(name, "gzip stream is truncated");
  return out;
}

}  // namespace

std::uint64_t idx_expected_length(std::span<const std::uint8_t> prefix, const std::string& name,
                                  std::size_t rank) {
  if (prefix.size() < 4) return 0;
  if (prefix[0] != 0 || prefix[1] != 0) {
    throw DataError(name, 0, "IDX magic 00 00",
                    fmt::format("{:02x} {:02x} (not an IDX file)", prefix[0], prefix[1]));
  }
  if (prefix[2] != kUnsignedByte) {
    throw DataError(name, 2, "type code 0x08 (unsigned byte)",
                    fmt::format("0x{:02x} ({})", prefix[2], type_name(prefix[2])));
  }
  if (prefix[3] != rank) {
    throw DataError(name, 3, fmt::format("{} dimension{}", rank, rank == 1 ? "" : "s"),
                    fmt::format("{}", prefix[3]));
  }
  if (prefix.size() < header_length(rank)) return 0;
  std::uint64_t payload = 1;
  for (std::size_t i = 0; i < rank; ++i) {
    const std::uint32_t dim = read_be32(&prefix[4 + 4 * i]);
    if (dim == 0) throw DataError(name, 4 + 4 * i, fmt::format("dimension {} >= 1", i), "0");
    // Both factors are below 2^33 after the check, so the product cannot wrap.
    payload *= dim;
    if (payload > kMaxIdxPayloadBytes) {
      throw DataError(name, 4 + 4 * i,
                      fmt::format("dimensions totalling at most {} bytes", kMaxIdxPayloadBytes),
                      fmt::format("dimension {} = {} (header claims over {} bytes)", i, dim,
                                  kMaxIdxPayloadBytes));
    }
  }
  return header_length(rank) + payload;
}

static void check_idx_layout(std::span<const std::uint8_t> header, std::uint64_t total_size,
                      const std::string& name, std::size_t rank) {
  const std::uint64_t expected = idx_expected_length(header, name, rank);
  if (expected == 0) {
    const std::size_t needed = header.size() < 4 ? 4 : header_length(rank);
    throw DataError(name, total_size, fmt::format("a {}-byte header", needed),
                    fmt::format("end of file after {} bytes", total_size));
  }
  if (total_size < expected) {
    throw DataError(name, total_size, fmt::format("{} bytes in all (header + data)", expected),
                    fmt::format("end of file: truncated, {} bytes missing", expected - total_size));
  }
  if (total_size > expected) {
    throw DataError(name, expected, "end of file after the data the header describes",
                    fmt::format("{} trailing bytes", total_size - expected));
  }
}

IdxArray parse_idx(std::span<const std::uint8_t> bytes, const std::string& name,
                   std::size_t rank) {
  check_idx_layout(bytes, bytes.size(), name, rank);
  IdxArray array;
  for (std::size_t i = 0; i < rank; ++i) array.dims.push_back(read_be32(&bytes[4 + 4 * i]));
  reserve_payload(array.values, bytes.size() - header_length(rank));
  array.values.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header_length(rank)), bytes.end());
  return array;
}

std::vector<std::uint32_t> read_idx_dims(const std::filesystem::path& path, std::size_t rank) {
  const std::string name = path.string();
  File file = open_for_reading(path);
  if (rank == 0 || rank > 255) throw DataError(name, "rank must be in [1, 255]");
  std::vector<std::uint8_t> header(header_length(rank));
  header.resize(std::fread(header.data(), 1, header.size(), file.get()));
  if (header.size() >= 2 && header[0] == 0x1f && header[1] == 0x8b) header = read_gzip(path, rank, true);
  if (idx_expected_length(header, name, rank) == 0) {
    throw DataError(name, header.size(), fmt::format("a {}-byte header", header_length(rank)),
                    fmt::format("end of file after {} bytes", header.size()));
  }
  std::vector<std::uint32_t> dims;
  for (std::size_t i = 0; i < rank; ++i) dims.push_back(read_be32(&header[4 + 4 * i]));
  return dims;
}

IdxArray read_idx(const std::filesystem::path& path, std::size_t rank) {
  const std::string name = path.string();
  File file = open_for_reading(path);
  if (rank == 0 || rank > 255) throw DataError(name, "rank must be in [1, 255]");
  std::uint8_t header[4 + 4 * 255];
  const std::size_t got = std::fread(header, 1, header_length(rank), file.get());
  if (got >= 2 && header[0] == 0x1f && header[1] == 0x8b) {
    return parse_idx(read_gzip(path, rank), name, rank);
  }
  std::error_code ec;
  const std::uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) throw DataError(name, ec.message());
  // The header is checked against the true file size before the payload is
  // allocated, so the allocation is exactly what the file holds.
  check_idx_layout(std::span<const std::uint8_t>(header, got), size, name, rank);
  IdxArray array;
  for (std::size_t i = 0; i < rank; ++i) array.dims.push_back(read_be32(&header[4 + 4 * i]));
  reserve_payload(array.values, size - header_length(rank));
  array.values.resize(size - header_length(rank));
  if (std::fread(array.values.data(), 1, array.values.size(), file.get()) != array.values.size()) {
    throw DataError(name, "read error (file changed while reading?)");
  }
  return array;
}

}  // namespace bpnet
