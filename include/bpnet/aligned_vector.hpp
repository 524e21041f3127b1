// std::vector whose storage starts on a 64-byte cache line. malloc gives
// large blocks at 16 bytes past a page, so every row of the weights and of
// the activations straddled cache lines: vector loads that split across two
// lines cost twice, and one image's first layer (streaming the weights from
// L2) took 4.81 us misaligned against 3.20 us aligned, the same AVX2 kernel
// on the project's AVX-512 Xeon (docs/performance.md).
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

namespace bpnet {

inline constexpr std::size_t kCacheLine = 64;

// Asks Linux to back the 2 MB-aligned part of [data, data + bytes) with 2 MB
// pages when it is first touched (transparent huge pages; Debian's default
// gives them only where asked): one TLB entry then covers 512 of the usual
// pages. For the big networks' weights, gradients and optimizer state (tens
// of MB, swept every step: 784-2500-...-10 3-4% faster an epoch, measured
// alternately) and the data set's pixels (read in random order; no change
// measured on torch-seed). A hint: nothing changes where the kernel says no.
inline void advise_huge_pages(const void* data, std::size_t bytes) {
#ifdef MADV_HUGEPAGE
  constexpr std::uintptr_t kHugePage = std::uintptr_t{2} << 20;
  const auto begin = (reinterpret_cast<std::uintptr_t>(data) + kHugePage - 1) & ~(kHugePage - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes) & ~(kHugePage - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)data;
  (void)bytes;
#endif
}

// Blocks from this size on are worth huge pages (a few, and partial ones at
// the edges are not).
inline constexpr std::size_t kHugePageWorthy = std::size_t{8} << 20;

template <typename T>
struct CacheLineAllocator {
  using value_type = T;

  CacheLineAllocator() = default;
  template <typename U>
  CacheLineAllocator(const CacheLineAllocator<U>& /*other*/) noexcept {}  // NOLINT: rebinding is implicit

  // Through malloc, a line more than asked for, the block's own address
  // kept just before the aligned start. Not aligned operator new: glibc
  // serves that from fresh mmap pages for every large block (a 3 MB one:
  // ~345 page faults each time, against none for malloc, which keeps freed
  // blocks for the next), and evaluate() allocates its batch anew per call.
  T* allocate(std::size_t n) {
    if (n > (PTRDIFF_MAX - kCacheLine - sizeof(void*)) / sizeof(T)) throw std::bad_array_new_length();
    void* block = std::malloc(n * sizeof(T) + kCacheLine + sizeof(void*));
    if (block == nullptr) throw std::bad_alloc();
    const auto first_free = reinterpret_cast<std::uintptr_t>(block) + sizeof(void*);
    auto* aligned = reinterpret_cast<void**>((first_free + kCacheLine - 1) / kCacheLine * kCacheLine);
    aligned[-1] = block;
    if (n * sizeof(T) >= kHugePageWorthy) advise_huge_pages(aligned, n * sizeof(T));
    return reinterpret_cast<T*>(aligned);
  }
  void deallocate(T* p, std::size_t /*n*/) noexcept {
    if (p != nullptr) std::free(reinterpret_cast<void**>(p)[-1]);
  }

  template <typename U>
  bool operator==(const CacheLineAllocator<U>& /*other*/) const noexcept {
    return true;
  }
};

template <typename T>
using AlignedVector = std::vector<T, CacheLineAllocator<T>>;

}  // namespace bpnet
