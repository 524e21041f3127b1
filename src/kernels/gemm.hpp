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

// C (M, N) = alpha * op(A) (M, K) * op(B) (K, N) + beta * C, all row-major,
// with leading dimensions lda/ldb/ldc as stored (before op).
template <typename T>
void gemm(const GemmShape& shape, T alpha, const T* a, std::size_t lda, const T* b,
          std::size_t ldb, T beta, T* c, std::size_t ldc);

// C = op(A) op(B) + bias (N values) in every row: a Linear layer's forward.
// The same floats as copying the bias into C, then gemm with beta 1; the fast
// kernel puts each tile's bias in just before that tile's product.
template <typename T>
void gemm_plus_bias(const GemmShape& shape, const T* a, std::size_t lda, const T* b, std::size_t ldb,
                    const T* bias, T* c, std::size_t ldc);

// Straight triple loop; the definition of what gemm must compute.
template <typename T>
void gemm_reference(const GemmShape& shape, T alpha, const T* a, std::size_t lda, const T* b,
                    std::size_t ldb, T beta, T* c, std::size_t ldc);

}  // namespace bpnet
