// std::vector whose storage starts on a 64-byte cache line. malloc gives
// large blocks at 16 bytes past a page, so every row of the weights and of
// the activations straddled cache lines: vector loads that split across two
// lines cost twice, and one image's first layer (streaming the weights from
// L2) took 4.81 us misaligned against 3.20 us aligned, the same AVX2 kernel
// on the project's AVX-512 Xeon (docs/performance.md).
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace bpnet {

inline constexpr std::size_t kCacheLine = 64;

template <typename T>
struct CacheLineAllocator {
  using value_type = T;

  CacheLineAllocator() = default;
  template <typename U>
  CacheLineAllocator(const CacheLineAllocator<U>& /*other*/) noexcept {}  // NOLINT: rebinding is implicit

  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new[](n * sizeof(T), std::align_val_t{kCacheLine}));
  }
  void deallocate(T* p, std::size_t /*n*/) noexcept { ::operator delete[](p, std::align_val_t{kCacheLine}); }

  template <typename U>
  bool operator==(const CacheLineAllocator<U>& /*other*/) const noexcept {
    return true;
  }
};

template <typename T>
using AlignedVector = std::vector<T, CacheLineAllocator<T>>;

}  // namespace bpnet
