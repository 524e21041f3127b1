// The fast GEMM against the reference loops, at the shapes the presets use
// and at awkward ones, in every transpose combination.
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>
#include <vector>

#include "kernels/gemm.hpp"
#include "kernels/small_batch.hpp"
#include "bpnet/random.hpp"

namespace bpnet {
namespace {

template <typename T>
void expect_gemm_matches_reference(Transpose ta, Transpose tb, std::size_t m, std::size_t n,
                                   std::size_t k, T beta) {
  Rng rng(m * 131 + n * 17 + k);
  const std::size_t a_rows = ta == Transpose::yes ? k : m, a_cols = ta == Transpose::yes ? m : k;
  const std::size_t b_rows = tb == Transpose::yes ? n : k, b_cols = tb == Transpose::yes ? k : n;
  std::vector<T> a(a_rows * a_cols), b(b_rows * b_cols), c(m * n);
  for (auto* v : {&a, &b, &c}) {
    for (T& x : *v) x = static_cast<T>(rng.uniform(-1, 1));
  }
  std::vector<T> expected = c;
  const GemmShape shape{ta, tb, m, n, k};
  gemm_reference<T>(shape, T(1.5), a.data(), a_cols, b.data(), b_cols, beta, expected.data(), n);
  gemm<T>(shape, T(1.5), a.data(), a_cols, b.data(), b_cols, beta, c.data(), n);
  const double tolerance = std::is_same_v<T, float> ? 1e-4 : 1e-12;
  for (std::size_t i = 0; i < c.size(); ++i) {
    ASSERT_NEAR(c[i], expected[i], tolerance * (1 + std::abs(expected[i]) + std::sqrt(double(k))))
        << "entry " << i;
  }
}

using Shape = std::tuple<std::size_t, std::size_t, std::size_t>;
class GemmShapes : public ::testing::TestWithParam<Shape> {};

TEST_P(GemmShapes, FastMatchesReferenceInAllTransposes) {
  const auto [m, n, k] = GetParam();
  for (Transpose ta : {Transpose::no, Transpose::yes}) {
    for (Transpose tb : {Transpose::no, Transpose::yes}) {
      expect_gemm_matches_reference<float>(ta, tb, m, n, k, 0.0f);
      expect_gemm_matches_reference<float>(ta, tb, m, n, k, 1.0f);
      expect_gemm_matches_reference<double>(ta, tb, m, n, k, 0.5);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(PresetAndOddShapes, GemmShapes,
                         ::testing::Values(Shape{128, 128, 784}, Shape{64, 128, 784},
                                           Shape{128, 64, 128}, Shape{128, 10, 64},
                                           Shape{128, 784, 128}, Shape{128, 784, 64},
                                           Shape{1, 1, 1}, Shape{3, 5, 7}, Shape{17, 1, 33},
                                           // one image through each torch-seed layer (small-batch path)
                                           Shape{1, 128, 784}, Shape{1, 64, 128}, Shape{4, 10, 64},
                                           Shape{2, 7, 37}));

// Every instruction set of the few-rows kernel this CPU runs, against the
// reference GEMM, at shapes that leave every kind of tail (k not a multiple
// of 8, 16 or 32; n not a multiple of 4).
TEST(SmallRows, EveryInstructionSetMatchesTheReference) {
  Rng rng(7);
  for (const SmallRowsIsa isa : {SmallRowsIsa::plain, SmallRowsIsa::avx2, SmallRowsIsa::avx512}) {
    if (!cpu_runs(isa)) continue;
    for (const std::size_t k : {1u, 5u, 15u, 16u, 17u, 33u, 37u, 64u, 128u, 784u}) {
      for (const std::size_t n : {1u, 3u, 4u, 7u, 10u, 13u}) {
        for (const std::size_t m : {1u, 2u}) {
          std::vector<float> a(m * k), b(n * k), c(m * n), expected(m * n);
          for (float& v : a) v = static_cast<float>(rng.uniform(-1, 1));
          for (float& v : b) v = static_cast<float>(rng.uniform(-1, 1));
          for (std::size_t i = 0; i < c.size(); ++i) c[i] = expected[i] = static_cast<float>(rng.uniform(-1, 1));
          gemm_small_rows_nt(isa, m, n, k, 0.5f, a.data(), k, b.data(), k, 1.0f, c.data(), n);
          gemm_reference<float>({Transpose::no, Transpose::yes, m, n, k}, 0.5f, a.data(), k, b.data(), k, 1.0f,
                                expected.data(), n);
          for (std::size_t i = 0; i < c.size(); ++i) {
            EXPECT_NEAR(c[i], expected[i], 1e-5f * (1.0f + static_cast<float>(k)) * 0.1f)
                << "isa " << static_cast<int>(isa) << " m " << m << " n " << n << " k " << k << " at " << i;
          }
        }
      }
    }
  }
}

TEST(Gemm, BetaZeroIgnoresGarbageInC) {
  std::vector<float> a{1, 2}, b{3, 4}, c{std::nanf("")};
  gemm<float>({Transpose::no, Transpose::no, 1, 1, 2}, 1.0f, a.data(), 2, b.data(), 1, 0.0f, c.data(), 1);
  EXPECT_EQ(c[0], 11.0f);
  c[0] = std::nanf("");
  gemm_reference<float>({Transpose::no, Transpose::no, 1, 1, 2}, 1.0f, a.data(), 2, b.data(), 1, 0.0f,
                        c.data(), 1);
  EXPECT_EQ(c[0], 11.0f);
}

}  // namespace
}  // namespace bpnet
