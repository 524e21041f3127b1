#include "gemm.hpp"

namespace bpnet {

template <typename T>
void gemm_reference(const GemmShape& s, T alpha, const T* a, std::size_t lda, const T* b,
                    std::size_t ldb, T beta, T* c, std::size_t ldc) {
  const bool ta = s.trans_a == Transpose::yes;
  const bool tb = s.trans_b == Transpose::yes;
  for (std::size_t i = 0; i < s.m; ++i) {
    for (std::size_t j = 0; j < s.n; ++j) {
      T sum = 0;
      for (std::size_t p = 0; p < s.k; ++p) {
        const T a_ip = ta ? a[p * lda + i] : a[i * lda + p];
        const T b_pj = tb ? b[j * ldb + p] : b[p * ldb + j];
        sum += a_ip * b_pj;
      }
      // beta == 0 must ignore C entirely (it may hold NaN garbage), as BLAS does.
      c[i * ldc + j] = alpha * sum + (beta == T(0) ? T(0) : beta * c[i * ldc + j]);
    }
  }
}

// The finish is chosen once, outside the loops: with the switch inside, GCC
// left the loop scalar, and one image's ReLU over its 192 hidden units took
// ~10% of its latency (perf, e2e_bench --infer). The same finish_element
// either way, so the same floats.
template <typename T>
void finish_reference(std::size_t m, std::size_t n, const Epilogue<T>& epilogue, T* c, std::size_t ldc) {
  auto each_element = [&](auto finish_one) {
    for (std::size_t i = 0; i < m; ++i) {
      T* row = c + i * ldc;
      for (std::size_t j = 0; j < n; ++j) row[j] = finish_one(i, j, row[j]);
    }
  };
  switch (epilogue.finish) {
    case Finish::none: return;
    case Finish::relu:
      each_element([](std::size_t, std::size_t, T x) { return finish_element<T>(Finish::relu, x, nullptr); });
      return;
    case Finish::relu_backward:
      each_element([&](std::size_t i, std::size_t j, T x) {
        return finish_element(Finish::relu_backward, x, epilogue.mask_at(i, j));
      });
      return;
  }
}

template void finish_reference<float>(std::size_t, std::size_t, const Epilogue<float>&, float*, std::size_t);
template void finish_reference<double>(std::size_t, std::size_t, const Epilogue<double>&, double*, std::size_t);
template void gemm_reference<float>(const GemmShape&, float, const float*, std::size_t,
                                    const float*, std::size_t, float, float*, std::size_t);
template void gemm_reference<double>(const GemmShape&, double, const double*, std::size_t,
                                     const double*, std::size_t, double, double*, std::size_t);

}  // namespace bpnet
