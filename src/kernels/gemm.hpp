// Dense linear-algebra kernels behind the layers. Each has a plain reference
// version (kernels/reference.cpp) that the tests compare the fast one against
// and bench/ times it against.
//
// Which fast kernel gemm<T> runs, and why: kernels/gemm.cpp.
#pragma once

#include <cstddef>

#include "kernel_threads.hpp"  // the threads gemm<float> uses

namespace bpnet {

enum class Transpose { no, yes };

// How a product may be cut between the kernel threads: any (the kernel
// chooses), or C's rows / columns only. The layers pass the side that runs
// along the weights' rows, so that each thread computes, updates and zeroes
// the same part of the weights all through a step, from its own cache.
enum class GemmSplit { any, rows, columns };

struct GemmShape {
  Transpose trans_a = Transpose::no;
  Transpose trans_b = Transpose::no;
  std::size_t m = 0, n = 0, k = 0;
  GemmSplit split = GemmSplit::any;
};

// What becomes of each element of C once its sum is complete. The packed
// kernel does it to each tile while the tile is still in registers, saving a
// pass over C (and, on two cores, the lines of C crossing between them);
// the other paths run finish_element over C after the product. The same
// floats either way.
enum class Finish {
  none,
  relu,           // max(c, 0): the ReLU after a Linear's forward
  relu_backward,  // c where mask > 0, else 0: the backward of the ReLU whose output is `mask`
};

template <typename T>
struct Epilogue {
  Finish finish = Finish::none;
  const T* mask = nullptr;  // relu_backward: (M, N), rows ld_mask apart
  std::size_t ld_mask = 0;

  // Where element (i, j)'s mask value is; null without a mask.
  const T* mask_at(std::size_t i, std::size_t j) const { return mask == nullptr ? nullptr : mask + i * ld_mask + j; }
};

// One element's finish; `mask` points at its mask value (relu_backward only).
// Written as std::max(c, 0) and x > 0 ? dy : 0 are, NaN and -0 included:
// the vector kernels' max(0, c) and compare-with-zero return the same.
template <typename T>
inline T finish_element(Finish finish, T c, const T* mask) {
  switch (finish) {
    case Finish::relu: return c < T(0) ? T(0) : c;
    case Finish::relu_backward: return *mask > T(0) ? c : T(0);
    case Finish::none: break;
  }
  return c;
}

// finish_element over all of C (M, N): what the fused kernel must equal.
template <typename T>
void finish_reference(std::size_t m, std::size_t n, const Epilogue<T>& epilogue, T* c, std::size_t ldc);

// C (M, N) = alpha * op(A) (M, K) * op(B) (K, N) + beta * C, all row-major,
// with leading dimensions lda/ldb/ldc as stored (before op), then the
// epilogue's finish.
template <typename T>
void gemm(const GemmShape& shape, T alpha, const T* a, std::size_t lda, const T* b,
          std::size_t ldb, T beta, T* c, std::size_t ldc, const Epilogue<T>& epilogue = {});

// C = op(A) op(B) + bias (N values) in every row, then the epilogue's finish:
// a Linear layer's forward. The same floats as copying the bias into C, then
// gemm with beta 1; the fast kernel puts each tile's bias in just before that
// tile's product.
template <typename T>
void gemm_plus_bias(const GemmShape& shape, const T* a, std::size_t lda, const T* b, std::size_t ldb,
                    const T* bias, T* c, std::size_t ldc, const Epilogue<T>& epilogue = {});

// Straight triple loop; the definition of what gemm must compute.
template <typename T>
void gemm_reference(const GemmShape& shape, T alpha, const T* a, std::size_t lda, const T* b,
                    std::size_t ldb, T beta, T* c, std::size_t ldc);

}  // namespace bpnet
