#include "mostly_zero_input.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../simd.hpp"
#include "kernel_threads.hpp"
#include "packed_gemm.hpp"
#include "small_batch.hpp"

namespace bpnet {
namespace {

// How the work is cut (Zen 4, keras-seed's 784 -> 128 on batches of MNIST,
// a throwaway loop against the dense products and whole trainings,
// docs/performance.md):
// - each kernel thread takes a block of kBlock outputs, the rows of W it
//   updates (for_each_parameter_piece): cut by the batch's rows (forward)
//   or the inputs (dW's columns) instead, each thread read the lines of W or
//   dW that the other had written, and Adam's update took 5x as long;
// - the FMAs of a block go in eight independent chains: AVX2's eight
//   registers, or AVX-512's four taken for two rows (forward) or two inputs
//   (dW) side by side; one chain of four waited for each FMA's previous
//   result and ran at half the speed;
// - the inputs go by in slices of kSlice, so that the slice's rows of W^T
//   (forward) stay in L1 while a group of kGroup rows adds its share, and a
//   slice's nonzero bits (dW) make one 64 x 64 matrix.
constexpr std::size_t kSlice = 64;  // divides kGemmKc: no slice straddles two of the GEMM's
static_assert(kGemmKc % kSlice == 0);
constexpr std::size_t kGroup = 16;
constexpr std::size_t kBlock = 64;

// Bit i set where x[i] is not the background (NaN included), for the
// n <= 64 floats from x, none read past them.
__attribute__((target("avx512f"))) std::uint64_t nonzero_bits_avx512(const float* x, std::size_t n,
                                                                    float background) {
  std::uint64_t bits = 0;
  for (std::size_t t = 0; t < n; t += 16) {
    const auto lanes = static_cast<__mmask16>(n - t >= 16 ? 0xffffu : (1u << (n - t)) - 1);
    const __mmask16 nonzero =
        _mm512_mask_cmp_ps_mask(lanes, _mm512_maskz_loadu_ps(lanes, x + t), _mm512_set1_ps(background), _CMP_NEQ_UQ);
    bits |= static_cast<std::uint64_t>(nonzero) << t;
  }
  return bits;
}

// Plain loads for each full eight, the last few one by one: with a masked
// load of every eight, the loads and compares took about a third of
// forward_slice_avx2's perf samples on a Zen 3 (AVX2 only).
__attribute__((target("avx2"))) std::uint64_t nonzero_bits_avx2(const float* x, std::size_t n, float background) {
  const __m256 c = _mm256_set1_ps(background);
  std::uint64_t bits = 0;
  std::size_t t = 0;
  for (; t + 8 <= n; t += 8) {
    const __m256 v = _mm256_loadu_ps(x + t);
    const auto nonzero = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v, c, _CMP_NEQ_UQ)));
    bits |= static_cast<std::uint64_t>(nonzero) << t;
  }
  for (; t < n; ++t) bits |= static_cast<std::uint64_t>(x[t] != background ? 1 : 0) << t;
  return bits;
}

// One pass of the forward over the inputs [q, q + n): for each of `rows`
// rows of x (ld apart), acc (rows, block outputs) += the row's nonzero x[p]
// times W^T's row p (wt, rows wld apart, at the block's first output),
// starting from 0 when `first` (the first slice of one of the GEMM's slices
// of K). One FMA a vector, in input order: the packed GEMM's chain. Written
// out twice on purpose, as the packed GEMM's kernels are.
struct ForwardSlice {
  const float* x;
  float background;  // the value x's skipped inputs hold; x[p] - background is multiplied
  std::size_t ld, rows, q, n;
  bool first;
  const float* wt;
  std::size_t wld;
  float* acc;
};

// One link of a row's chain: a (four registers) += x[p] times W^T's row p,
// for p the lowest bit of `bits`, taken out of it. Inlined into its caller
// (GCC does not inline a call between functions of other targets).
__attribute__((target("avx512f"), always_inline)) inline void forward_link_avx512(const ForwardSlice& s,
                                                                                 const float* x,
                                                                                 std::uint64_t& bits,
                                                                                 __m512 (&a)[4]) {
  const auto p = static_cast<std::size_t>(__builtin_ctzll(bits));
  bits &= bits - 1;
  const __m512 xp = _mm512_set1_ps(x[p] - s.background);
  const float* w = s.wt + (s.q + p) * s.wld;
#pragma GCC unroll 4
  for (int v = 0; v < 4; ++v) a[v] = _mm512_fmadd_ps(xp, _mm512_load_ps(w + 16 * v), a[v]);
}

__attribute__((target("avx512f"))) void forward_slice_avx512(const ForwardSlice& s) {
  for (std::size_t r = 0; r < s.rows; r += 2) {
    const bool pair = r + 1 < s.rows;
    const float* x0 = s.x + r * s.ld + s.q;
    const float* x1 = pair ? x0 + s.ld : x0;
    float* acc = s.acc + r * kBlock;
    std::uint64_t bits0 = nonzero_bits_avx512(x0, s.n, s.background);
    std::uint64_t bits1 = pair ? nonzero_bits_avx512(x1, s.n, s.background) : 0;
    __m512 a[4], b[4];
#pragma GCC unroll 4
    for (int v = 0; v < 4; ++v) {
      a[v] = s.first ? _mm512_setzero_ps() : _mm512_load_ps(acc + 16 * v);
      b[v] = s.first || !pair ? _mm512_setzero_ps() : _mm512_load_ps(acc + kBlock + 16 * v);
    }
    while (bits0 != 0 && bits1 != 0) {
      forward_link_avx512(s, x0, bits0, a);
      forward_link_avx512(s, x1, bits1, b);
    }
    while (bits0 != 0) forward_link_avx512(s, x0, bits0, a);
    while (bits1 != 0) forward_link_avx512(s, x1, bits1, b);
#pragma GCC unroll 4
    for (int v = 0; v < 4; ++v) {
      _mm512_store_ps(acc + 16 * v, a[v]);
      if (pair) _mm512_store_ps(acc + kBlock + 16 * v, b[v]);
    }
  }
}

__attribute__((target("avx2,fma"))) void forward_slice_avx2(const ForwardSlice& s) {
  for (std::size_t r = 0; r < s.rows; ++r) {
    const float* x = s.x + r * s.ld + s.q;
    float* acc = s.acc + r * kBlock;
    std::uint64_t bits = nonzero_bits_avx2(x, s.n, s.background);
    if (!s.first && bits == 0) continue;
    __m256 a[8];
#pragma GCC unroll 8
    for (int v = 0; v < 8; ++v) a[v] = s.first ? _mm256_setzero_ps() : _mm256_load_ps(acc + 8 * v);
    for (; bits != 0; bits &= bits - 1) {
      const auto p = static_cast<std::size_t>(__builtin_ctzll(bits));
      const __m256 xp = _mm256_set1_ps(x[p] - s.background);
      const float* w = s.wt + (s.q + p) * s.wld;
#pragma GCC unroll 8
      for (int v = 0; v < 8; ++v) a[v] = _mm256_fmadd_ps(xp, _mm256_load_ps(w + 8 * v), a[v]);
    }
#pragma GCC unroll 8
    for (int v = 0; v < 8; ++v) _mm256_store_ps(acc + 8 * v, a[v]);
  }
}

// out = before + acc (n floats), then the ReLU if `relu`: what the packed
// GEMM stores after a slice of K (its C + the slice's sum, then finish_element).
BPNET_VECTOR_LOOP void add_slice(const float* before, const float* acc, std::size_t n, bool relu, float* out) {
  if (relu) {
    for (std::size_t j = 0; j < n; ++j) out[j] = finish_element<float>(Finish::relu, before[j] + acc[j], nullptr);
  } else {
    for (std::size_t j = 0; j < n; ++j) out[j] = before[j] + acc[j];
  }
}

// a[r] bit c -> a[c] bit r: a 64 x 64 matrix of bits transposed in six
// rounds of swapping blocks (Hacker's Delight, 7-3).
inline void transpose_bits(std::uint64_t (&a)[64]) {
  std::uint64_t m = 0x00000000ffffffffull;
  for (int j = 32; j != 0; j >>= 1, m ^= m << j) {
    for (int k = 0; k < 64; k = ((k | j) + 1) & ~j) {
      const std::uint64_t t = ((a[k] >> j) ^ a[k | j]) & m;
      a[k] ^= t << j;
      a[k | j] ^= t;
    }
  }
}

// Which rows of the batch have input q + p nonzero, for each p of a slice:
// bit r of rows[c][p] for row 64 c + r (rows <= kGemmKc). Made from each
// row's nonzero bits, transposed 64 rows at a time: the lists of rows that a
// first version appended to one by one took as long as the FMAs.
struct RowsOfInputs {
  std::uint64_t rows[kGemmKc / 64][kSlice];
  std::size_t chunks;
};

template <typename NonzeroBits>
inline void find_rows_of_inputs(const float* x, float background, std::size_t ld, std::size_t rows, std::size_t q,
                                std::size_t n, NonzeroBits nonzero_bits, RowsOfInputs& out) {
  out.chunks = (rows + 63) / 64;
  for (std::size_t c = 0; c < out.chunks; ++c) {
    std::uint64_t a[64];
    for (std::size_t r = 0; r < 64; ++r) {
      const std::size_t row = 64 * c + r;
      a[r] = row < rows ? nonzero_bits(x + row * ld + q, n, background) : 0;
    }
    transpose_bits(a);
    std::copy_n(a, kSlice, out.rows[c]);
  }
}

// One pass of the gradient over the inputs [q, q + n), for a block of
// `width` <= kBlock outputs: g (n, width; dW^T's rows q.. for the block's
// outputs) row p = the sum from 0, over the rows r of the batch in order,
// of x[r][q + p] times dy's row r (ldy apart, from the block's first
// output): each element's chain over the batch, as the packed GEMM's over
// K, kept in registers.
struct GradientSlice {
  const float* x;
  float background;  // as ForwardSlice's
  std::size_t ld, rows, q, n;
  const float* dy;
  std::size_t ldy;
  float* g;
  std::size_t width;
};

// One link of input p's chain: a (four registers) += x[r][q + p] times
// dy's row r, in the lanes `lanes` (the block's outputs). Inlined, as
// forward_link_avx512.
__attribute__((target("avx512f"), always_inline)) inline void gradient_link_avx512(const GradientSlice& s,
                                                                                  const __mmask16 (&lanes)[4],
                                                                                  std::size_t p, std::size_t r,
                                                                                  __m512 (&a)[4]) {
  const __m512 xp = _mm512_set1_ps(s.x[r * s.ld + s.q + p] - s.background);
  const float* dy = s.dy + r * s.ldy;
#pragma GCC unroll 4
  for (int v = 0; v < 4; ++v) a[v] = _mm512_fmadd_ps(xp, _mm512_maskz_loadu_ps(lanes[v], dy + 16 * v), a[v]);
}

// The next row of `bits` (bit r for row `base` + r), taken out of it.
inline std::size_t next_row(std::uint64_t& bits, std::size_t base) {
  const auto r = static_cast<std::size_t>(__builtin_ctzll(bits));
  bits &= bits - 1;
  return base + r;
}

__attribute__((target("avx512f"))) void gradient_slice_avx512(const GradientSlice& s) {
  RowsOfInputs rows_of;
  find_rows_of_inputs(s.x, s.background, s.ld, s.rows, s.q, s.n, nonzero_bits_avx512, rows_of);
  __mmask16 lanes[4];
  for (std::size_t v = 0; v < 4; ++v) {
    const std::size_t from = 16 * v, here = s.width > from ? std::min<std::size_t>(16, s.width - from) : 0;
    lanes[v] = static_cast<__mmask16>((1u << here) - 1);
  }
  // 64 rows of the batch at a time over the whole slice, each input's chain
  // kept in g between them (the same floats): the rows of dy a block reads
  // then take 16 KB, where torch-seed's 128 took all of L1 with x's beside
  // them. dW on 128 rows of MNIST-like inputs 1.15x as fast in a throwaway
  // loop (2 threads, alternating: 103-127 against 130-146 us); whole
  // torch-seed trainings could not tell them apart (0.110-0.147 s/epoch both).
  for (std::size_t c = 0; c < rows_of.chunks; ++c) {
    for (std::size_t p = 0; p < s.n; p += 2) {
      const bool pair = p + 1 < s.n;
      float* g = s.g + p * s.width;
      __m512 a[4], b[4];
#pragma GCC unroll 4
      for (int v = 0; v < 4; ++v) {
        a[v] = c == 0 ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(lanes[v], g + 16 * v);
        b[v] = c == 0 || !pair ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(lanes[v], g + s.width + 16 * v);
      }
      std::uint64_t bits0 = rows_of.rows[c][p], bits1 = pair ? rows_of.rows[c][p + 1] : 0;
      while (bits0 != 0 && bits1 != 0) {
        const std::size_t r0 = next_row(bits0, 64 * c), r1 = next_row(bits1, 64 * c);
        gradient_link_avx512(s, lanes, p, r0, a);
        gradient_link_avx512(s, lanes, p + 1, r1, b);
      }
      while (bits0 != 0) gradient_link_avx512(s, lanes, p, next_row(bits0, 64 * c), a);
      while (bits1 != 0) gradient_link_avx512(s, lanes, p + 1, next_row(bits1, 64 * c), b);
#pragma GCC unroll 4
      for (int v = 0; v < 4; ++v) {
        _mm512_mask_storeu_ps(g + 16 * v, lanes[v], a[v]);
        if (pair) _mm512_mask_storeu_ps(g + s.width + 16 * v, lanes[v], b[v]);
      }
    }
  }
}

// dy's eight floats at `at` for the lanes `lanes`: a plain load where the
// block is full. Zen 3, 784 -> 128 on 128 rows 19% nonzero, 2 threads, a
// throwaway loop alternating builds: dW 95-137 us against 121-186 with a
// masked load of every vector (this and nonzero_bits_avx2's plain loads
// together; the forward 117-142 against 123-173; docs/performance.md).
template <bool kFullBlock>
__attribute__((target("avx2"), always_inline)) inline __m256 load_lanes_avx2(const float* at, __m256i lanes) {
  return kFullBlock ? _mm256_loadu_ps(at) : _mm256_maskload_ps(at, lanes);
}

template <bool kFullBlock>
__attribute__((target("avx2,fma"))) void gradient_slice_avx2(const GradientSlice& s) {
  RowsOfInputs rows_of;
  find_rows_of_inputs(s.x, s.background, s.ld, s.rows, s.q, s.n, nonzero_bits_avx2, rows_of);
  alignas(64) float block[kBlock];
  const __m256i lane_index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  __m256i lanes[8];
  for (std::size_t v = 0; v < 8; ++v) {
    const std::size_t from = 8 * v, here = s.width > from ? std::min<std::size_t>(8, s.width - from) : 0;
    lanes[v] = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(here)), lane_index);
  }
  for (std::size_t c = 0; c < rows_of.chunks; ++c) {  // as gradient_slice_avx512
    for (std::size_t p = 0; p < s.n; ++p) {
      float* g = s.g + p * s.width;
      __m256 a[8];
#pragma GCC unroll 8
      for (int v = 0; v < 8; ++v) {
        a[v] = c == 0 ? _mm256_setzero_ps() : load_lanes_avx2<kFullBlock>(g + 8 * v, lanes[v]);
      }
      for (std::uint64_t bits = rows_of.rows[c][p]; bits != 0;) {
        const std::size_t r = next_row(bits, 64 * c);
        const __m256 xp = _mm256_set1_ps(s.x[r * s.ld + s.q + p] - s.background);
        const float* dy = s.dy + r * s.ldy;
#pragma GCC unroll 8
        for (int v = 0; v < 8; ++v) a[v] = _mm256_fmadd_ps(xp, load_lanes_avx2<kFullBlock>(dy + 8 * v, lanes[v]), a[v]);
      }
      if (kFullBlock) {
#pragma GCC unroll 8
        for (int v = 0; v < 8; ++v) _mm256_storeu_ps(g + 8 * v, a[v]);
      } else {
#pragma GCC unroll 8
        for (int v = 0; v < 8; ++v) _mm256_store_ps(block + 8 * v, a[v]);
        std::copy_n(block, s.width, g);
      }
    }
  }
}

void gradient_slice_avx2_any_width(const GradientSlice& s) {
  (s.width == kBlock ? gradient_slice_avx2<true> : gradient_slice_avx2<false>)(s);
}

BPNET_VECTOR_LOOP std::size_t count_not_background(const float* x, std::size_t n, float background) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i) count += x[i] != background ? 1 : 0;
  return count;
}

// The sum of row[0, n) in double, in kLanes interleaved sums added last in
// order: elementwise, so every clone gives the same double.
BPNET_VECTOR_LOOP double row_sum(const float* row, std::size_t n) {
  constexpr std::size_t kLanes = 16;
  double lanes[kLanes] = {};
  std::size_t k = 0;
  for (; k + kLanes <= n; k += kLanes) {
    for (std::size_t l = 0; l < kLanes; ++l) lanes[l] += row[k + l];
  }
  for (std::size_t l = 0; k < n; ++k, ++l) lanes[l] += row[k];
  double sum = 0;
  for (const double lane : lanes) sum += lane;
  return sum;
}

// dw (width rows of n, ld apart) += background times sums, rounded to
// float, then added in float: added in double, with dW converted there and
// back, this took 2.7% of a torch-seed training's samples, against 0.7% (perf).
BPNET_VECTOR_LOOP void add_background_sums(const double* sums, std::size_t width, std::size_t n, double background,
                                           float* dw, std::size_t ld) {
  for (std::size_t o = 0; o < width; ++o) {
    const auto add = static_cast<float>(background * sums[o]);
    float* row = dw + o * ld;
    for (std::size_t i = 0; i < n; ++i) row[i] += add;
  }
}

// sums[o] += dy[r][o] for each row r in order, in double: dy's column sums for `width` outputs.
BPNET_VECTOR_LOOP void add_rows(const float* dy, std::size_t rows, std::size_t ldy, std::size_t width, double* sums) {
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t o = 0; o < width; ++o) sums[o] += dy[r * ldy + o];
  }
}

// A thread's buffer of at least n floats, 64-byte aligned.
float* thread_buffer(std::vector<float>& storage, std::size_t n) {
  storage.resize(n + 16);
  const auto address = reinterpret_cast<std::uintptr_t>(storage.data());
  return storage.data() + (64 - address % 64) % 64 / sizeof(float);
}

}  // namespace

bool dense_products_asked() {
  const char* dense = std::getenv("BPNET_DENSE_PIXELS");
  return dense != nullptr && std::strcmp(dense, "1") == 0;
}

bool mostly_zero_products_run(Isa isa, std::size_t rows) {
  return (isa == Isa::avx2 || isa == Isa::avx512) && rows > kSmallBatchRows && rows <= kGemmKc;
}

void background_bias(const float* w, std::size_t in, const float* b, std::size_t out, float background,
                     float* bias) {
  for (std::size_t j = 0; j < out; ++j) {
    bias[j] = static_cast<float>(b[j] + static_cast<double>(background) * row_sum(w + j * in, in));
  }
}

void add_background_gradient(const float* dy, std::size_t rows, std::size_t ldy, std::size_t out, float background,
                             float* dw, std::size_t in) {
  std::vector<double> sums(out, 0.0);
  add_rows(dy, rows, ldy, out, sums.data());
  add_background_sums(sums.data(), out, in, background, dw, in);
}

bool mostly_zeros(const float* x, std::size_t rows, std::size_t in, std::size_t ld, float background) {
  constexpr std::size_t kSampleRows = 16;  // a quarter of keras-seed's batch; the choice changes the speed, no float
  std::size_t nonzero = 0;
  const std::size_t sampled = std::min(rows, kSampleRows);
  for (std::size_t r = 0; r < sampled; ++r) {
    nonzero += count_not_background(x + r * ld, in, background);
    // A first row over twice the share: dense data (inputs that are not pixels), known at once.
    if (r == 0 && static_cast<double>(nonzero) > 2 * kMostlyZeroMaxShare * static_cast<double>(in)) return false;
  }
  return static_cast<double>(nonzero) <= kMostlyZeroMaxShare * static_cast<double>(sampled * in);
}

void mostly_zero_forward(Isa isa, const float* x, float background, std::size_t rows, std::size_t in, const float* w,
                         const float* b, std::size_t out, bool relu, float* y, std::size_t ldy) {
  const auto pass = isa == Isa::avx512 ? forward_slice_avx512 : forward_slice_avx2;
  for_each_piece(out, kBlock, 2 * kBlock, [&](std::size_t j0, std::size_t j1) {
    // W^T for the piece's outputs (in, kBlock), a block at a time, zero past them.
    thread_local std::vector<float> wt_storage;
    float* wt = thread_buffer(wt_storage, in * kBlock);
    thread_local std::vector<float> shifted_bias;
    const float* bias = b + j0;  // the piece's
    if (background != 0.0f) {
      shifted_bias.resize(j1 - j0);
      background_bias(w + j0 * in, in, b + j0, j1 - j0, background, shifted_bias.data());
      bias = shifted_bias.data();
    }
    alignas(64) float acc[kGroup * kBlock];  // (group, block): each row's sum over the current slice of K
    for (std::size_t jb = j0; jb < j1; jb += kBlock) {
      const std::size_t n = std::min(kBlock, j1 - jb);
      transpose_rows_into_columns(true, w + jb * in, in, 0, n, wt, kBlock);
      for (std::size_t k = 0; k < in && n < kBlock; ++k) std::fill(wt + k * kBlock + n, wt + (k + 1) * kBlock, 0.0f);
      for (std::size_t r0 = 0; r0 < rows; r0 += kGroup) {
        const std::size_t group = std::min(kGroup, rows - r0);
        for (std::size_t k0 = 0; k0 < in; k0 += kGemmKc) {
          const std::size_t k1 = std::min(in, k0 + kGemmKc);
          for (std::size_t q = k0; q < k1; q += kSlice) {
            pass({x + r0 * in, background, in, group, q, std::min(kSlice, k1 - q), q == k0, wt, kBlock, acc});
          }
          for (std::size_t r = 0; r < group; ++r) {
            float* row = y + (r0 + r) * ldy + jb;
            add_slice(k0 == 0 ? bias + (jb - j0) : row, acc + r * kBlock, n, relu && k1 == in, row);
          }
        }
      }
    }
  });
}

void mostly_zero_weight_gradient(Isa isa, const float* x, float background, std::size_t rows, std::size_t in,
                                 const float* dy, std::size_t ldy, std::size_t out, float* dw) {
  const auto pass = isa == Isa::avx512 ? gradient_slice_avx512 : gradient_slice_avx2_any_width;
  for_each_piece(out, kBlock, 2 * kBlock, [&](std::size_t j0, std::size_t j1) {
    // dW^T's rows of one slice for a block of outputs, summed from 0, then transposed into dW.
    thread_local std::vector<float> g_storage;
    float* g = thread_buffer(g_storage, kSlice * kBlock);
    for (std::size_t jb = j0; jb < j1; jb += kBlock) {
      const std::size_t width = std::min(kBlock, j1 - jb);
      double sums[kBlock] = {};  // the block's column sums of dy, for a background
      if (background != 0.0f) add_rows(dy + jb, rows, ldy, width, sums);
      for (std::size_t q = 0; q < in; q += kSlice) {
        const std::size_t n = std::min(kSlice, in - q);
        pass({x, background, in, rows, q, n, dy + jb, ldy, g, width});
        transpose_rows_into_columns(true, g, width, 0, n, dw + jb * in + q, in);
        if (background != 0.0f) add_background_sums(sums, width, n, background, dw + jb * in + q, in);
      }
    }
  });
}

}  // namespace bpnet
