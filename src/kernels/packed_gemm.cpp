// bpnet's GEMM, in the Goto / BLIS scheme. Letters: C (M, N) = op(A) (M, K)
// op(B) (K, N); MR x NR is the tile of C a micro-kernel keeps in registers.
//
// Loops, outside in: NC columns of C -> a KC-deep slice of K, whose part of
// op(B) is packed -> MC rows of C, whose part of op(A) is packed -> NR-wide
// micro-panels of packed B -> MR-high micro-panels of A -> the
// micro-kernel, which runs over the whole slice with the tile in registers.
// Packing lays out op(B) as panels (kc, NR) and a transposed op(A) as panels
// (kc, MR), the NR (or MR) values of one k side by side, zero-padded past the
// edges so every micro-kernel call computes a full tile; a non-transposed
// op(A) is read in place, row by row, and so are the full panels of an op(B)
// whose rows run along N and start on lines an odd number apart
// (reads_b_in_place). The edge tiles of C go through a scratch tile. One B
// micro-panel (KC x NR) stays in L1 while the MR-row panels of the A block
// (MC x KC, in L2) stream by.
//
// Why not OpenBLAS (which bpnet used until this kernel measured faster, see
// docs/performance.md): at the preset shapes (batch 64-128) OpenBLAS's
// threading cost about what it gained, and its single-threaded kernel was
// slower than this one; owning the kernel lets the work be cut across cores
// in whole tiles, with no result depending on the number of threads.
#include "packed_gemm.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <vector>

#include "../parallel/thread_team.hpp"
#include "bpnet/aligned_vector.hpp"

namespace bpnet {
namespace {

// Blocking, in floats. KC x NR (AVX-512: 256 x 32 x 4 B = 32 KB) fits L1d;
// MC x KC (144 KB) fits L2, and so does the block of B that a product packs,
// KC x NC (256 KB), beside it. MC is a multiple of every MR, NC of every NR.
// With NC 3072 a packed block of B (3 MB) went out to L3 between its packing
// and its use: the forward products of 784-2500-2000-1500-1000-500-10 ran at
// 55-60% of one core's peak, 59-68% with NC 256-512, and the network trained
// 3-7% faster (docs/performance.md). A B read in place, or packed once for
// many products, is not blocked along N: each block would pack A again.
constexpr std::size_t kKc = kGemmKc;
constexpr std::size_t kMc = 144;
constexpr std::size_t kNc = 256;

// Below this many multiply-adds one thread is faster than handing work out.
constexpr std::size_t kMinParallelMacs = std::size_t{1} << 18;

// A micro-kernel: c (MR, NR, row stride ldc) = finish(alpha * a b + beta * c),
// with b (kc, NR) either packed (kPackedB; ldb is unused) or read in place:
// row p at b + p * ldb; and a (MR, kc) either packed, (kc, MR) (kPackedA;
// lda is unused), or read in place: row i at a + i * lda. beta == 0 ignores c.
// `finish` is the tile's: the product's epilogue with its mask at the tile,
// on the last slice of K; none on the others.
using MicroKernel = void (*)(std::size_t kc, const float* a, std::size_t lda, const float* b, std::size_t ldb,
                             float* c, std::size_t ldc, float alpha, float beta, const Epilogue<float>& finish);

// Element (i, p) of a micro-kernel's A.
template <std::size_t MR, bool kPackedA>
inline const float& a_at(const float* a, std::size_t lda, std::size_t i, std::size_t p) {
  return kPackedA ? a[p * MR + i] : a[i * lda + p];
}

struct Kernel {
  std::size_t mr, nr;
  // [A packed][B packed]: A read where it is (an op(A) that is not
  // transposed) or packed; B the same (reads_b_in_place).
  MicroKernel run[2][2];
  bool simd_packing;     // transposes while packing with AVX2
  bool fused_beta;       // adds beta * c with one rounding (an FMA), as the edge tiles must too
};

template <std::size_t MR, std::size_t NR, bool kPackedA, bool kPackedB>
void kernel_plain(std::size_t kc, const float* a, std::size_t lda, const float* b, std::size_t ldb, float* c,
                  std::size_t ldc, float alpha, float beta, const Epilogue<float>& finish) {
  const std::size_t b_step = kPackedB ? NR : ldb;
  float acc[MR][NR] = {};
  for (std::size_t p = 0; p < kc; ++p, b += b_step) {
    for (std::size_t i = 0; i < MR; ++i) {
      for (std::size_t j = 0; j < NR; ++j) acc[i][j] += a_at<MR, kPackedA>(a, lda, i, p) * b[j];
    }
  }
  for (std::size_t i = 0; i < MR; ++i) {
    for (std::size_t j = 0; j < NR; ++j) {
      float& out = c[i * ldc + j];
      out = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * out;
      out = finish_element(finish.finish, out, finish.mask_at(i, j));
    }
  }
}

// 6 x 16: twelve accumulators, two B vectors and one broadcast of the
// sixteen ymm registers.
template <bool kPackedA, bool kPackedB>
__attribute__((target("avx2,fma"))) void kernel_avx2(std::size_t kc, const float* a, std::size_t lda, const float* b,
                                                      std::size_t ldb, float* c, std::size_t ldc, float alpha,
                                                      float beta, const Epilogue<float>& finish) {
  constexpr int kRows = 6;
  const std::size_t b_step = kPackedB ? 16 : ldb;  // a constant the loads fold in, for packed panels
  __m256 acc[kRows][2];
#pragma GCC unroll 6
  for (int i = 0; i < kRows; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  for (std::size_t p = 0; p < kc; ++p, b += b_step) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < kRows; ++i) {
      const __m256 ai = _mm256_broadcast_ss(&a_at<kRows, kPackedA>(a, lda, i, p));
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
#pragma GCC unroll 6
  for (int i = 0; i < kRows; ++i) {
    float* row = c + static_cast<std::size_t>(i) * ldc;
    __m256 r0 = _mm256_mul_ps(va, acc[i][0]), r1 = _mm256_mul_ps(va, acc[i][1]);
    if (beta != 0.0f) {
      r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row), r0);
      r1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row + 8), r1);
    }
    // max(0, r) returns r for r = -0 and NaN, as std::max(r, 0) does.
    const __m256 zero = _mm256_setzero_ps();
    if (finish.finish == Finish::relu) {
      r0 = _mm256_max_ps(zero, r0);
      r1 = _mm256_max_ps(zero, r1);
    } else if (finish.finish == Finish::relu_backward) {
      const float* mask = finish.mask_at(static_cast<std::size_t>(i), 0);
      r0 = _mm256_and_ps(r0, _mm256_cmp_ps(_mm256_loadu_ps(mask), zero, _CMP_GT_OQ));
      r1 = _mm256_and_ps(r1, _mm256_cmp_ps(_mm256_loadu_ps(mask + 8), zero, _CMP_GT_OQ));
    }
    _mm256_storeu_ps(row, r0);
    _mm256_storeu_ps(row + 8, r1);
  }
}

// MR x 32: 2 * MR accumulators and two B vectors of the 32 zmm registers; the
// A value is an embedded broadcast operand of each FMA. The same loops as
// kernel_avx2 in other registers, written out twice on purpose: one template
// over the vector type would need helpers with target attributes of their
// own, and GCC does not inline those across instruction sets (a lane sum
// called out of the AVX-512 few-rows kernel made it 2.5x slower).
template <int MR, bool kPackedA, bool kPackedB>
__attribute__((target("avx512f"))) void kernel_avx512(std::size_t kc, const float* a, std::size_t lda,
                                                       const float* b, std::size_t ldb, float* c, std::size_t ldc,
                                                       float alpha, float beta, const Epilogue<float>& finish) {
  const std::size_t b_step = kPackedB ? 32 : ldb;
  __m512 acc[MR][2];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
#pragma GCC unroll 4
  for (std::size_t p = 0; p < kc; ++p, b += b_step) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(a_at<MR, kPackedA>(a, lda, i, p));
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    float* row = c + static_cast<std::size_t>(i) * ldc;
    __m512 r0 = _mm512_mul_ps(va, acc[i][0]), r1 = _mm512_mul_ps(va, acc[i][1]);
    if (beta != 0.0f) {
      r0 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(row), r0);
      r1 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(row + 16), r1);
    }
    // max(0, r) as in kernel_avx2; the all-lanes masked form because GCC 12
    // warns of the undefined passthrough in _mm512_max_ps.
    const __m512 zero = _mm512_setzero_ps();
    const __mmask16 all = 0xffff;
    if (finish.finish == Finish::relu) {
      r0 = _mm512_maskz_max_ps(all, zero, r0);
      r1 = _mm512_maskz_max_ps(all, zero, r1);
    } else if (finish.finish == Finish::relu_backward) {
      const float* mask = finish.mask_at(static_cast<std::size_t>(i), 0);
      r0 = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(_mm512_loadu_ps(mask), zero, _CMP_GT_OQ), r0);
      r1 = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(_mm512_loadu_ps(mask + 16), zero, _CMP_GT_OQ), r1);
    }
    _mm512_storeu_ps(row, r0);
    _mm512_storeu_ps(row + 16, r1);
  }
}

const Kernel& kernel_for(Isa isa) {
  static const Kernel plain{4,
                            16,
                            {{kernel_plain<4, 16, false, false>, kernel_plain<4, 16, false, true>},
                             {kernel_plain<4, 16, true, false>, kernel_plain<4, 16, true, true>}},
                            false,
                            false};
  static const Kernel avx2{
      6, 16, {{kernel_avx2<false, false>, kernel_avx2<false, true>}, {kernel_avx2<true, false>, kernel_avx2<true, true>}},
      true, true};
  static const Kernel avx512{8,
                             32,
                             {{kernel_avx512<8, false, false>, kernel_avx512<8, false, true>},
                              {kernel_avx512<8, true, false>, kernel_avx512<8, true, true>}},
                             true,
                             true};
  switch (isa) {
    case Isa::avx512: return avx512;
    case Isa::avx2: return avx2;
    case Isa::plain: return plain;
  }
  return plain;
}

// op(X) of a row-major operand: element (r, q) of op(X).
struct Operand {
  const float* data;
  std::size_t ld;
  bool transposed;
};

// 8 rows of 8 floats (row i at rows[i]) -> their 8 columns: out[q] holds
// element q of every row, row i in lane i. Inlined into its callers (GCC
// left it a call: ~1% of the big networks' training, perf).
__attribute__((target("avx2"), always_inline)) inline void transpose8x8(const __m256 (&rows)[8], __m256 (&out)[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(rows[i], rows[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(rows[i], rows[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int q = 0; q < 4; ++q) {
    out[q] = _mm256_permute2f128_ps(u[q], u[q + 4], 0x20);
    out[q + 4] = _mm256_permute2f128_ps(u[q], u[q + 4], 0x31);
  }
}

// One panel (kc, width) from `live` rows laid along q (row i at src + i * ld),
// zero past `live`: the plain loops, and (below) eight rows by eight q at a
// time through registers.
void pack_rows_plain(const float* src, std::size_t ld, std::size_t live, std::size_t kc, std::size_t width,
                     float* dst) {
  for (std::size_t q = 0; q < kc; ++q) {
    for (std::size_t i = 0; i < width; ++i) dst[q * width + i] = i < live ? src[i * ld + q] : 0.0f;
  }
}


__attribute__((target("avx2"))) void pack_rows_avx2(const float* src, std::size_t ld, std::size_t live,
                                                     std::size_t kc, std::size_t width, float* dst) {
  // Eight rows at a time along all of kc, not the panel's rows for each q:
  // eight streams through memory that the hardware prefetcher follows, where
  // 32 (AVX-512's NR) outran it. The forward products of the big networks,
  // with cold caches, went from 258 to 322-361 GFLOP/s (docs/performance.md).
  const std::size_t kc8 = kc / 8 * 8;
  for (std::size_t g = 0; g < width; g += 8) {
    for (std::size_t q = 0; q < kc8; q += 8) {
      __m256 rows[8], columns[8];
      for (std::size_t i = 0; i < 8; ++i) {
        rows[i] = g + i < live ? _mm256_loadu_ps(src + (g + i) * ld + q) : _mm256_setzero_ps();
      }
      transpose8x8(rows, columns);
      const std::size_t lanes = std::min<std::size_t>(8, width - g);
      if (lanes == 8) {
        for (std::size_t t = 0; t < 8; ++t) _mm256_storeu_ps(dst + (q + t) * width + g, columns[t]);
      } else {
        // A panel narrower than 8 (AVX2's MR = 6): store the first lanes only.
        const __m256i first = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(lanes)),
                                                 _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        for (std::size_t t = 0; t < 8; ++t) _mm256_maskstore_ps(dst + (q + t) * width + g, first, columns[t]);
      }
    }
  }
  pack_rows_plain(src + kc8, ld, live, kc - kc8, width, dst + kc8 * width);  // the last kc % 8
}

// kc runs of W contiguous floats, run q at src + q * ld, side by side in dst.
// A size known to the compiler makes each run a few vector moves; the
// std::copy_n of a run-time count called memmove once per run of 8 or 32
// floats, and those calls cost more than the copying (perf, torch-seed
// training: memmove 4.5% of the time, mostly here).
template <std::size_t W>
void copy_runs(const float* src, std::size_t ld, std::size_t kc, float* dst) {
  for (std::size_t q = 0; q < kc; ++q) std::memcpy(dst + q * W, src + q * ld, W * sizeof(float));
}

// copy_runs for a panel width of one of the kernels; false for another width.
bool copy_runs_of(std::size_t width, const float* src, std::size_t ld, std::size_t kc, float* dst) {
  switch (width) {
    case 4: copy_runs<4>(src, ld, kc, dst); return true;
    case 6: copy_runs<6>(src, ld, kc, dst); return true;
    case 8: copy_runs<8>(src, ld, kc, dst); return true;
    case 16: copy_runs<16>(src, ld, kc, dst); return true;
    case 32: copy_runs<32>(src, ld, kc, dst); return true;
    default: return false;
  }
}

// dst: panels (kc, width) of the operand's rows [r0, r0 + rows) and columns
// [q0, q0 + kc), zero past `rows`. A is packed by op(A)'s rows; B is passed
// as op(B)^T (`transposed` flipped), so its panels run along op(B)'s columns.
void pack_panels(const Operand& x, std::size_t r0, std::size_t rows, std::size_t q0, std::size_t kc,
                 std::size_t width, bool simd, float* dst) {
  for (std::size_t panel = 0; panel < rows; panel += width, dst += kc * width) {
    const std::size_t live = std::min(width, rows - panel);
    if (x.transposed) {
      // Element (r, q) at data[q * ld + r]: the panel's values of one q are contiguous.
      const float* src = x.data + q0 * x.ld + r0 + panel;
      if (live == width && copy_runs_of(width, src, x.ld, kc, dst)) continue;
      for (std::size_t q = 0; q < kc; ++q) {
        float* out = dst + q * width;
        std::copy_n(src + q * x.ld, live, out);
        std::fill(out + live, out + width, 0.0f);
      }
    } else {
      // Element (r, q) at data[r * ld + q]: a transpose of the panel's rows.
      const float* src = x.data + (r0 + panel) * x.ld + q0;
      (simd ? pack_rows_avx2 : pack_rows_plain)(src, x.ld, live, kc, width, dst);
    }
  }
}

// Per-thread packing space, 64-byte aligned, grown on demand and kept.
class PackBuffer {
 public:
  float* get(std::size_t floats) {
    if (floats > size_) {
      data_.reset(static_cast<float*>(::operator new[](floats * sizeof(float), std::align_val_t{64})));
      size_ = floats;
    }
    return data_.get();
  }

 private:
  struct Free {
    void operator()(float* p) const { ::operator delete[](p, std::align_val_t{64}); }
  };
  std::unique_ptr<float[], Free> data_;
  std::size_t size_ = 0;
};

struct PackBuffers {
  PackBuffer a, b, tile, transposed;  // transposed: gemm_packed_by_weight_rows's C^T
};

PackBuffers& thread_buffers() {
  thread_local PackBuffers buffers;
  return buffers;
}

// All of op(B) laid out as gemm_block packs it a block at a time: for each
// kKc-deep slice of K, every column's NR-wide panels, zero-padded.
struct PackedB {
  const float* data;  // the operand it was packed from, and how
  std::size_t ld;
  bool transposed;
  std::size_t n, k, nr;
  AlignedVector<float> panels;

  // Where K's slice from pc on begins (the slices before it are kKc deep).
  std::size_t slice_offset(std::size_t pc) const { return pc * ((n + nr - 1) / nr * nr); }
  const float* slice(std::size_t pc) const { return panels.data() + slice_offset(pc); }
  bool packs(const Operand& b, std::size_t columns, std::size_t depth, std::size_t panel_width) const {
    return b.data == data && b.ld == ld && b.transposed == transposed && columns == n && depth == k &&
           panel_width == nr;
  }
};

// Whether the micro-kernels read the full panels of op(B) where they are:
// an op(B) whose rows run along N (B not transposed), each starting on a
// cache line (the vector kernels' aligned loads), rows an odd number of
// lines apart, so that a panel's kc rows fall in all of L1's sets rather
// than a few of them. Then op(B) need not be copied into panels: dW = dy^T x
// copied all of x on every thread, 11% of that product (perf, kernels_bench).
bool reads_b_in_place(const Operand& b_transposed) {
  const std::size_t line = 64 / sizeof(float);
  return b_transposed.transposed && reinterpret_cast<std::uintptr_t>(b_transposed.data) % 64 == 0 &&
         b_transposed.ld % line == 0 && (b_transposed.ld / line) % 2 == 1;
}

// C's rows [m0, m1) and columns [n0, n1): the whole blocked algorithm on one
// thread. The block's edges lie on the tile grid of all of C (m0 a multiple
// of MR, n0 of NR), so each tile is the same whichever block holds it.
// An op(A) that is not transposed has its MR rows read in place (each row is
// a contiguous stream along k, and packing it would be a transpose); only a
// last, partial panel of rows is packed, zero-padded. A value is the same
// float either way, so the result does not depend on which path read it.
void gemm_block(const Kernel& kernel, const Operand& a, const Operand& b_transposed, const PackedB* packed_all_b,
                std::size_t m0, std::size_t m1, std::size_t n0, std::size_t n1, std::size_t k, float alpha,
                float beta, const float* bias, float* c, std::size_t ldc, const Epilogue<float>& epilogue) {
  PackBuffers& buffers = thread_buffers();
  const std::size_t mr = kernel.mr, nr = kernel.nr;
  const bool direct_b = packed_all_b == nullptr && reads_b_in_place(b_transposed);
  float* tile = buffers.tile.get(mr * nr);
  const std::size_t block_columns = packed_all_b != nullptr || direct_b ? n1 - n0 : kNc;
  for (std::size_t jc = n0; jc < n1; jc += block_columns) {
    const std::size_t nc = std::min(block_columns, n1 - jc);
    const std::size_t nc_padded = (nc + nr - 1) / nr * nr;
    for (std::size_t pc = 0; pc < k; pc += kKc) {
      const std::size_t kc = std::min(kKc, k - pc);
      // Later slices add to the first; with a bias, the first adds to it.
      const bool bias_first = pc == 0 && bias != nullptr;
      const float beta_here = pc == 0 && bias == nullptr ? beta : 1.0f;
      const bool last_slice = pc + kc == k;  // the epilogue's finish goes with it
      const float* packed_b = nullptr;
      // Full panels of a B read in place start at column 0; the rest is packed.
      const std::size_t in_place_columns = direct_b ? nc / nr * nr : 0;
      if (packed_all_b != nullptr) {
        packed_b = packed_all_b->slice(pc) + jc * kc;
      } else if (in_place_columns < nc) {
        float* here = buffers.b.get(kc * nc_padded);
        pack_panels(b_transposed, jc + in_place_columns, nc - in_place_columns, pc, kc, nr, kernel.simd_packing,
                    here);
        packed_b = here;
      }
      for (std::size_t ic = m0; ic < m1; ic += kMc) {
        const std::size_t mc = std::min(kMc, m1 - ic);
        const bool in_place = !a.transposed;
        const std::size_t first_packed = in_place ? mc / mr * mr : 0;  // rows before it are read in place
        float* packed_a = buffers.a.get(kc * ((mc - first_packed + mr - 1) / mr * mr));
        if (first_packed < mc) {
          pack_panels(a, ic + first_packed, mc - first_packed, pc, kc, mr, kernel.simd_packing, packed_a);
        }
        for (std::size_t jr = 0; jr < nc; jr += nr) {
          const bool b_in_place = jr < in_place_columns;
          const float* b_panel = b_in_place ? b_transposed.data + pc * b_transposed.ld + jc + jr
                                            : packed_b + (jr - in_place_columns) * kc;
          const std::size_t ldb = b_in_place ? b_transposed.ld : nr;
          const std::size_t cols = std::min(nr, nc - jr);
          for (std::size_t ir = 0; ir < mc; ir += mr) {
            const bool packed = ir >= first_packed;
            const MicroKernel run = kernel.run[packed][!b_in_place];
            const float* a_panel = packed ? packed_a + (ir - first_packed) * kc : a.data + (ic + ir) * a.ld + pc;
            const std::size_t rows = std::min(mr, mc - ir);
            float* c_tile = c + (ic + ir) * ldc + jc + jr;
            if (bias_first) {
              // The tile's bias goes in just before its product, by the thread that computes it.
              for (std::size_t i = 0; i < rows; ++i) std::copy_n(bias + jc + jr, cols, c_tile + i * ldc);
            }
            const Epilogue<float> finish =
                last_slice ? Epilogue<float>{epilogue.finish, epilogue.mask_at(ic + ir, jc + jr), epilogue.ld_mask}
                           : Epilogue<float>{};
            if (rows == mr && cols == nr) {
              run(kc, a_panel, a.ld, b_panel, ldb, c_tile, ldc, alpha, beta_here, finish);
              continue;
            }
            // An edge tile: computed whole into the scratch tile, its live part
            // added to C as the micro-kernel would have (beta 1, the usual
            // case, is exact either way).
            run(kc, a_panel, a.ld, b_panel, ldb, tile, nr, alpha, 0.0f, Epilogue<float>{});
            const bool fma = kernel.fused_beta && beta_here != 1.0f;
            for (std::size_t i = 0; i < rows; ++i) {
              for (std::size_t j = 0; j < cols; ++j) {
                float& out = c_tile[i * ldc + j];
                const float product = tile[i * nr + j];
                out = beta_here == 0.0f ? product : fma ? std::fma(beta_here, out, product) : product + beta_here * out;
                out = finish_element(finish.finish, out, finish.mask_at(i, j));
              }
            }
          }
        }
      }
    }
  }
}

void scale_by_beta(std::size_t m, std::size_t n, float beta, float* c, std::size_t ldc) {
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
  }
}

}  // namespace

struct ReusePackedWeights::Packings {
  std::span<const float> weights;
  std::vector<std::unique_ptr<PackedB>> packed;
};

namespace {

// The innermost live scope of this thread, or null.
thread_local ReusePackedWeights::Packings* reuse_scope = nullptr;

// Whether every element of op(B)^T (rows n, columns k, as Operand reads it)
// lies inside `weights`.
bool lies_inside(const Operand& b, std::size_t n, std::size_t k, std::span<const float> weights) {
  const std::size_t last = b.transposed ? (k - 1) * b.ld + (n - 1) : (n - 1) * b.ld + (k - 1);
  const float* begin = weights.data();
  return std::less_equal<const float*>()(begin, b.data) &&
         std::less<const float*>()(b.data + last, begin + weights.size());
}

// This scope's packing of op(B), made now if it is the first: null when no
// scope is live or op(B) is not among its weights.
const PackedB* reused_packing(const Kernel& kernel, const Operand& b_transposed, std::size_t n, std::size_t k) {
  ReusePackedWeights::Packings* scope = reuse_scope;
  if (scope == nullptr || !lies_inside(b_transposed, n, k, scope->weights)) return nullptr;
  for (const auto& p : scope->packed) {
    if (p->packs(b_transposed, n, k, kernel.nr)) return p.get();
  }
  auto p = std::make_unique<PackedB>(
      PackedB{b_transposed.data, b_transposed.ld, b_transposed.transposed, n, k, kernel.nr, {}});
  p->panels.resize(p->slice_offset(k));
  for (std::size_t pc = 0; pc < k; pc += kKc) {
    pack_panels(b_transposed, 0, n, pc, std::min(kKc, k - pc), kernel.nr, kernel.simd_packing,
                p->panels.data() + p->slice_offset(pc));
  }
  scope->packed.push_back(std::move(p));
  return scope->packed.back().get();
}

}  // namespace

ReusePackedWeights::ReusePackedWeights(std::span<const float> weights)
    : packings_(std::make_unique<Packings>(Packings{weights, {}})), outer_(reuse_scope) {
  reuse_scope = packings_.get();
}

ReusePackedWeights::~ReusePackedWeights() { reuse_scope = outer_; }

void gemm_packed(Isa isa, const GemmShape& s, float alpha, const float* a, std::size_t lda, const float* b,
                 std::size_t ldb, float beta, float* c, std::size_t ldc, ThreadTeam* team, const float* bias,
                 const Epilogue<float>& epilogue) {
  if (s.m == 0 || s.n == 0) return;
  if (s.k == 0) {
    if (bias != nullptr) {
      for (std::size_t i = 0; i < s.m; ++i) std::copy_n(bias, s.n, c + i * ldc);
    } else {
      scale_by_beta(s.m, s.n, beta, c, ldc);
    }
    finish_reference(s.m, s.n, epilogue, c, ldc);
    return;
  }
  const Kernel& kernel = kernel_for(isa);
  const Operand op_a{a, lda, s.trans_a == Transpose::yes};
  // Packed B's panels run along op(B)'s columns, i.e. the rows of op(B)^T.
  const Operand op_b_transposed{b, ldb, s.trans_b == Transpose::no};
  const std::size_t members = team == nullptr || s.m * s.n * s.k < kMinParallelMacs
                                  ? 1
                                  : static_cast<std::size_t>(team->size());
  const PackedB* packed_b = reused_packing(kernel, op_b_transposed, s.n, s.k);
  if (members == 1) {
    gemm_block(kernel, op_a, op_b_transposed, packed_b, 0, s.m, 0, s.n, s.k, alpha, beta, bias, c, ldc, epilogue);
    return;
  }
  // Cut C in whole tiles: along the side the caller asks for, or else the
  // side with more tiles.
  const std::size_t row_tiles = (s.m + kernel.mr - 1) / kernel.mr;
  const std::size_t col_tiles = (s.n + kernel.nr - 1) / kernel.nr;
  const bool split_rows = s.split == GemmSplit::any ? row_tiles > col_tiles : s.split == GemmSplit::rows;
  const std::size_t tiles = split_rows ? row_tiles : col_tiles;
  const std::size_t step = split_rows ? kernel.mr : kernel.nr;
  team->run([&](int member) {
    const auto t = static_cast<std::size_t>(member);
    const std::size_t first = std::min(tiles * t / members * step, split_rows ? s.m : s.n);
    const std::size_t last = std::min(tiles * (t + 1) / members * step, split_rows ? s.m : s.n);
    if (first == last) return;
    if (split_rows) {
      gemm_block(kernel, op_a, op_b_transposed, packed_b, first, last, 0, s.n, s.k, alpha, beta, bias, c, ldc,
                 epilogue);
    } else {
      gemm_block(kernel, op_a, op_b_transposed, packed_b, 0, s.m, first, last, s.k, alpha, beta, bias, c, ldc,
                 epilogue);
    }
  });
}

namespace {

// The whole 8 x 8 blocks of transpose_rows_into_columns.
__attribute__((target("avx2"))) void transpose_blocks_avx2(const float* t, std::size_t m, std::size_t first,
                                                            std::size_t last, float* c, std::size_t ldc) {
  for (std::size_t o = first; o + 8 <= last; o += 8) {
    for (std::size_t r = 0; r + 8 <= m; r += 8) {
      __m256 rows[8], columns[8];
      for (std::size_t i = 0; i < 8; ++i) rows[i] = _mm256_loadu_ps(t + (o + i) * m + r);
      transpose8x8(rows, columns);
      for (std::size_t i = 0; i < 8; ++i) _mm256_storeu_ps(c + (r + i) * ldc + o, columns[i]);
    }
  }
}

}  // namespace

void transpose_rows_into_columns(bool simd, const float* t, std::size_t m, std::size_t first, std::size_t last,
                                 float* c, std::size_t ldc) {
  std::size_t o_done = first, r_done = 0;  // the blocks [first, o_done) x [0, r_done) went through registers
  if (simd) {
    o_done = first + (last - first) / 8 * 8;
    r_done = m / 8 * 8;
    transpose_blocks_avx2(t, m, first, o_done, c, ldc);
  }
  for (std::size_t o = first; o < last; ++o) {
    for (std::size_t r = o < o_done ? r_done : 0; r < m; ++r) c[r * ldc + o] = t[o * m + r];
  }
}

void gemm_packed_by_weight_rows(Isa isa, std::size_t m, std::size_t n, std::size_t k, const float* a,
                                std::size_t lda, const float* b, std::size_t ldb, const float* bias, float* c,
                                std::size_t ldc, ThreadTeam* team, Finish finish) {
  if (m == 0 || n == 0) return;
  const Kernel& kernel = kernel_for(isa);
  float* t = thread_buffers().transposed.get(n * m);  // the caller's; each member fills its own rows
  // C^T (n, m) = B (n, k) A^T (k, m): B's rows are op(A)'s, read in place;
  // A's rows are op(B)^T's (an op(B) that is transposed: packed).
  const Operand b_rows{b, ldb, false};
  const Operand a_rows{a, lda, false};
  auto rows = [&](std::size_t first, std::size_t last) {
    for (std::size_t o = first; o < last; ++o) std::fill_n(t + o * m, m, bias[o]);
    if (k > 0) {
      gemm_block(kernel, b_rows, a_rows, nullptr, first, last, 0, m, k, 1.0f, 1.0f, nullptr, t, m,
                 Epilogue<float>{finish});
    } else {
      finish_reference(last - first, m, Epilogue<float>{finish}, t + first * m, m);
    }
    transpose_rows_into_columns(kernel.simd_packing, t, m, first, last, c, ldc);
  };
  const std::size_t members =
      team == nullptr || m * n * k < kMinParallelMacs ? 1 : static_cast<std::size_t>(team->size());
  if (members == 1) {
    rows(0, n);
    return;
  }
  const std::size_t tiles = (n + kernel.mr - 1) / kernel.mr;
  team->run([&](int member) {
    const auto i = static_cast<std::size_t>(member);
    const std::size_t first = std::min(tiles * i / members * kernel.mr, n);
    const std::size_t last = std::min(tiles * (i + 1) / members * kernel.mr, n);
    if (first < last) rows(first, last);
  });
}

}  // namespace bpnet
