#include "sparse_pixels.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "../simd.hpp"
#include "packed_gemm.hpp"

namespace bpnet {
namespace {

// How the work is cut (Zen 5, AVX-512, MNIST's test set, a throwaway loop
// against the packed GEMM on converted pixels, docs/performance.md): a group
// of 16 images takes one slice of W^T of 64 pixels (32 KB, in L1) at a time,
// each image adding its nonzero pixels' rows of it to its partial sums (kept
// in L1 too). 2.5x the dense product's speed in the prototype, where one
// image at a time over all of W^T (401 KB, from L2) was 1.6x, groups of 8
// or 32 2.25x and 2.46x, slices of 32 pixels 2.0x, and these converting each
// pixel apart from the others (a scalar chain before every broadcast) 1.7x.
// This form: 2.21x (AVX2: 2.65x the AVX2 GEMM). On an Intel Xeon
// (Emerald Rapids, AVX-512) the same loop over MNIST's test set ran at
// 0.86-1.09 M images/s before the next group's bytes were prefetched and
// the slice sums vectorized, 1.23-1.55 M after (one thread, 4 runs each).
constexpr std::size_t kGroup = 16;
constexpr std::size_t kSlice = 64;  // divides kGemmKc: no slice of W^T straddles two of the GEMM's
static_assert(kGemmKc % kSlice == 0);

// Outputs a block of partial sums holds: eight vector registers.
std::size_t block_outputs(Isa isa) { return isa == Isa::avx512 ? 128 : 64; }
constexpr std::size_t kMostBlockOutputs = 128;

// Bit i set where bytes[i] != 0, for 64 bytes (SSE2: any x86-64).
inline std::uint64_t nonzero_bits(const std::uint8_t* bytes) {
  std::uint64_t bits = 0;
  const __m128i zero = _mm_setzero_si128();
  for (int c = 0; c < 4; ++c) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes + 16 * c));
    const auto zeros = static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, zero)));
    bits |= static_cast<std::uint64_t>(~zeros & 0xffffu) << (16 * c);
  }
  return bits;
}

// What one group's pass over one slice of W^T reads and writes: `rows`
// images from `pixels` on (rows `in` bytes apart), their pixels [q, q + n)
// (n <= kSlice); w: W^T's row q at the block's first output (rows ld apart);
// acc: (rows, block outputs), each image's sum over the GEMM's current slice
// of K so far, which this pass starts from 0 when `first`.
struct SlicePass {
  const std::uint8_t* pixels;
  std::size_t in, rows, q, n;
  bool first;
  const float* w;
  std::size_t ld;
  float scale;
  float* acc;
};

// An image's bytes [q, q + kSlice): where they are, or copied into `tail`
// with zeros after them when the slice ends first (no read past the image).
inline const std::uint8_t* slice_bytes(const SlicePass& s, std::size_t r, std::uint8_t (&tail)[kSlice]) {
  const std::uint8_t* bytes = s.pixels + r * s.in + s.q;
  if (s.n == kSlice) return bytes;
  std::memset(tail, 0, kSlice);
  std::memcpy(tail, bytes, s.n);
  return tail;
}

// The pass in eight 16-wide (AVX-512) or 8-wide (AVX2) registers: each
// nonzero pixel's value (converted beforehand, 16 or 8 at a time) times its
// row of W^T added to the image's sums, one FMA a register, in pixel order.
// Written out twice on purpose, as the packed GEMM's kernels are.
__attribute__((target("avx512f"))) void slice_pass_avx512(const SlicePass& s) {
  const __m512 scale = _mm512_set1_ps(s.scale);
  const __mmask16 all = 0xffff;
  for (std::size_t r = 0; r < s.rows; ++r) {
    alignas(64) std::uint8_t tail[kSlice];
    const std::uint8_t* bytes = slice_bytes(s, r, tail);
    std::uint64_t bits = nonzero_bits(bytes);
    float* acc = s.acc + r * 128;
    __m512 a[8];
    if (s.first) {
#pragma GCC unroll 8
      for (int v = 0; v < 8; ++v) a[v] = _mm512_setzero_ps();
    } else {
      if (bits == 0) continue;
#pragma GCC unroll 8
      for (int v = 0; v < 8; ++v) a[v] = _mm512_load_ps(acc + 16 * v);
    }
    if (bits != 0) {
      alignas(64) float x[kSlice];
#pragma GCC unroll 4
      for (std::size_t t = 0; t < kSlice; t += 16) {
        // The all-lanes masked forms: GCC 12 warns of the undefined passthrough in the plain ones.
        const __m512i u = _mm512_maskz_cvtepu8_epi32(all, _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes + t)));
        _mm512_store_ps(x + t, _mm512_mul_ps(_mm512_maskz_cvtepi32_ps(all, u), scale));
      }
      while (bits != 0) {
        const auto p = static_cast<std::size_t>(__builtin_ctzll(bits));
        bits &= bits - 1;
        const __m512 xp = _mm512_set1_ps(x[p]);
        const float* w = s.w + p * s.ld;
#pragma GCC unroll 8
        for (int v = 0; v < 8; ++v) a[v] = _mm512_fmadd_ps(xp, _mm512_load_ps(w + 16 * v), a[v]);
      }
    }
#pragma GCC unroll 8
    for (int v = 0; v < 8; ++v) _mm512_store_ps(acc + 16 * v, a[v]);
  }
}

__attribute__((target("avx2,fma"))) void slice_pass_avx2(const SlicePass& s) {
  const __m256 scale = _mm256_set1_ps(s.scale);
  for (std::size_t r = 0; r < s.rows; ++r) {
    alignas(64) std::uint8_t tail[kSlice];
    const std::uint8_t* bytes = slice_bytes(s, r, tail);
    std::uint64_t bits = nonzero_bits(bytes);
    float* acc = s.acc + r * 64;
    __m256 a[8];
    if (s.first) {
#pragma GCC unroll 8
      for (int v = 0; v < 8; ++v) a[v] = _mm256_setzero_ps();
    } else {
      if (bits == 0) continue;
#pragma GCC unroll 8
      for (int v = 0; v < 8; ++v) a[v] = _mm256_load_ps(acc + 8 * v);
    }
    if (bits != 0) {
      alignas(64) float x[kSlice];
#pragma GCC unroll 8
      for (std::size_t t = 0; t < kSlice; t += 8) {
        const __m256i u = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(bytes + t)));
        _mm256_store_ps(x + t, _mm256_mul_ps(_mm256_cvtepi32_ps(u), scale));
      }
      while (bits != 0) {
        const auto p = static_cast<std::size_t>(__builtin_ctzll(bits));
        bits &= bits - 1;
        const __m256 xp = _mm256_set1_ps(x[p]);
        const float* w = s.w + p * s.ld;
#pragma GCC unroll 8
        for (int v = 0; v < 8; ++v) a[v] = _mm256_fmadd_ps(xp, _mm256_load_ps(w + 8 * v), a[v]);
      }
    }
#pragma GCC unroll 8
    for (int v = 0; v < 8; ++v) _mm256_store_ps(acc + 8 * v, a[v]);
  }
}

// Slice passes over one group: each slice of K (kGemmKc) cut into kSlice-wide ones.
std::size_t passes_per_group(std::size_t in) {
  return in / kGemmKc * (kGemmKc / kSlice) + (in % kGemmKc + kSlice - 1) / kSlice;
}

// Asks for the next group's pixel bytes (`bytes` from `next` on, whole
// images one after another) ahead of their use: pass `pass` of `passes` over
// the current group fetches its share of their lines. The first pass over a
// group otherwise waited for every image's bytes from L3 or memory: 17-21%
// of the kernel's samples on a Xeon (perf, MNIST's test set), the images
// being read 64 bytes at a time, 16 images apart, which the hardware
// prefetchers did not follow.
inline void prefetch_next_group(const std::uint8_t* next, std::size_t bytes, std::size_t pass, std::size_t passes) {
  constexpr std::size_t kLine = 64;
  const std::size_t lines = (bytes + kLine - 1) / kLine, share = (lines + passes - 1) / passes;
  for (std::size_t line = pass * share; line < std::min(lines, (pass + 1) * share); ++line) {
    _mm_prefetch(reinterpret_cast<const char*>(next + line * kLine), _MM_HINT_T0);
  }
}

// What the GEMM adds to C after each slice of K: `before` (rows
// before_ld apart; 0: the bias, one row for all) plus the slice's sums.
struct SliceSums {
  const float* before;
  std::size_t before_ld;
  const float* acc;
  std::size_t acc_ld, rows;
};

// out (rows, n; ld apart) = before + acc, then the ReLU if `relu`: the
// packed GEMM's floats (its C + the slice's product, then finish_element).
// A vector loop, writing straight into y after the last slice: the scalar
// loops before it (SSE's width, through one more buffer) took 12.8% of the
// zero-pixel evaluation of MNIST on a Xeon (perf).
BPNET_VECTOR_LOOP void add_slice_sums(const SliceSums& s, std::size_t n, bool relu, float* out, std::size_t ld) {
  for (std::size_t r = 0; r < s.rows; ++r) {
    const float* before = s.before + r * s.before_ld;
    const float* acc = s.acc + r * s.acc_ld;
    float* row = out + r * ld;
    if (relu) {
      for (std::size_t j = 0; j < n; ++j) row[j] = finish_element<float>(Finish::relu, before[j] + acc[j], nullptr);
    } else {
      for (std::size_t j = 0; j < n; ++j) row[j] = before[j] + acc[j];
    }
  }
}

}  // namespace

PixelMajorWeights::PixelMajorWeights(Isa isa_, const float* w, const float* b, std::size_t out_, std::size_t in_)
    : isa(isa_), in(in_), out(out_), ld((out_ + block_outputs(isa_) - 1) / block_outputs(isa_) * block_outputs(isa_)),
      weight(in_ * ld, 0.0f), bias(ld, 0.0f) {
  // In blocks of 16 pixels, each block's 16 rows of W^T filled output by
  // output while they stay in L1: 784 x 128 in 30 us against 250-460 us a
  // whole output at a time, every write on another line (5-8% of a
  // Fashion-MNIST evaluation, throwaway timer).
  constexpr std::size_t kBlock = 16;
  for (std::size_t p0 = 0; p0 < in; p0 += kBlock) {
    const std::size_t p1 = std::min(in, p0 + kBlock);
    for (std::size_t j = 0; j < out; ++j) {
      for (std::size_t p = p0; p < p1; ++p) weight[p * ld + j] = w[j * in + p];
    }
  }
  std::copy_n(b, out, bias.begin());
}

bool sparse_pixel_product_runs(Isa isa) { return isa == Isa::avx2 || isa == Isa::avx512; }

void sparse_pixel_product(const PixelMajorWeights& w, const std::uint8_t* pixels, std::size_t rows, float scale,
                          bool relu, float* y, std::size_t ldy) {
  const std::size_t block = block_outputs(w.isa);
  const auto pass = w.isa == Isa::avx512 ? slice_pass_avx512 : slice_pass_avx2;
  // acc: each image's sum over the GEMM's current slice of K; sum: the
  // bias plus the slices done, what the GEMM keeps in C. (kGroup, block)
  alignas(64) float acc[kGroup * kMostBlockOutputs];
  alignas(64) float sum[kGroup * kMostBlockOutputs];
  const std::size_t passes = passes_per_group(w.in);
  for (std::size_t j0 = 0; j0 < w.ld; j0 += block) {
    const std::size_t cols = std::min(block, w.out - j0);
    for (std::size_t r0 = 0; r0 < rows; r0 += kGroup) {
      const std::size_t group = std::min(kGroup, rows - r0);
      const std::uint8_t* next = pixels + (r0 + group) * w.in;
      const std::size_t next_bytes = std::min(kGroup, rows - r0 - group) * w.in;
      std::size_t pass_index = 0;
      for (std::size_t k0 = 0; k0 < w.in; k0 += kGemmKc) {
        const std::size_t k1 = std::min(w.in, k0 + kGemmKc);
        for (std::size_t q = k0; q < k1; q += kSlice) {
          prefetch_next_group(next, next_bytes, pass_index++, passes);
          pass({pixels + r0 * w.in, w.in, group, q, std::min(kSlice, k1 - q), q == k0,
                w.weight.data() + q * w.ld + j0, w.ld, scale, acc});
        }
        // The bias or the slices so far, plus this slice: into y, finished, after the last one.
        const SliceSums sums{k0 == 0 ? w.bias.data() + j0 : sum, k0 == 0 ? 0 : block, acc, block, group};
        if (k1 == w.in) {
          add_slice_sums(sums, cols, relu, y + r0 * ldy + j0, ldy);
        } else {
          add_slice_sums(sums, block, false, sum, block);
        }
      }
    }
  }
}

double nonzero_share(const std::uint8_t* data, std::size_t n) {
  if (n == 0) return 0;
  const auto nonzero = static_cast<std::size_t>(std::count_if(data, data + n, [](std::uint8_t b) { return b != 0; }));
  return static_cast<double>(nonzero) / static_cast<double>(n);
}

}  // namespace bpnet
