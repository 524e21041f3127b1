// libFuzzer target: the IDX reader on arbitrary bytes, both in memory and
// through a file (which covers gzip detection and inflation). Any crash,
// sanitizer report, hang or allocation beyond -malloc_limit_mb is a finding;
// a DataError is the reader doing its job.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <span>
#include <string>

#include "bpnet/error.hpp"
#include "bpnet/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  for (std::size_t rank : {1u, 3u}) {
    try {
      const bpnet::IdxArray array = bpnet::parse_idx(bytes, "fuzz-input", rank);
      std::uint64_t product = 1;
      for (std::uint32_t d : array.dims) product *= d;
      if (product != array.values.size()) __builtin_trap();  // accepted but inconsistent
    } catch (const bpnet::DataError&) {
    }
  }
  // The same bytes as a file: raw or, if they start with the gzip magic, inflated.
  const int fd = ::memfd_create("idx", 0);
  if (fd < 0) return 0;
  if (::write(fd, data, size) == static_cast<ssize_t>(size)) {
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    for (std::size_t rank : {1u, 3u}) {
      try {
        bpnet::read_idx(path, rank);
      } catch (const bpnet::DataError&) {
      }
    }
  }
  ::close(fd);
  return 0;
}
