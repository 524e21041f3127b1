// The fast GEMM against the reference loops, at the shapes the presets use
// and at awkward ones, in every transpose combination.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <cmath>
#include <tuple>
#include <string>
#include <vector>

#include "kernels/faster_of_two.hpp"
#include "kernels/gemm.hpp"
#include "kernels/isa.hpp"
#include "kernels/kernel_threads.hpp"
#include "kernels/packed_gemm.hpp"
#include "parallel/thread_team.hpp"
#include "kernels/small_batch.hpp"
#include "bpnet/aligned_vector.hpp"
#include "bpnet/error.hpp"
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
// of 8, 16 or 32; n below, at and past the groups of 4 and 8 rows).
TEST(SmallRows, EveryInstructionSetMatchesTheReference) {
  Rng rng(7);
  for (const Isa isa : {Isa::plain, Isa::avx2, Isa::avx512}) {
    if (!cpu_runs(isa)) continue;
    for (const std::size_t k : {1u, 5u, 15u, 16u, 17u, 33u, 37u, 64u, 128u, 784u}) {
      for (const std::size_t n : {1u, 3u, 4u, 5u, 6u, 7u, 8u, 9u, 10u, 12u, 13u, 17u}) {
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

// bpnet's packed GEMM in every instruction set this CPU runs, against the
// reference, in every transpose, at shapes that leave partial tiles on both
// sides and span several K slices, M blocks and (at n = 3100) N blocks; and
// at a row stride wider than the matrix (a view into a larger one).
TEST(PackedGemm, EveryInstructionSetMatchesTheReference) {
  const std::vector<Shape> shapes = {{1, 1, 1},     {7, 5, 3},     {8, 32, 256}, {13, 33, 257}, {128, 128, 784},
                                     {128, 10, 64}, {150, 47, 520}, {5, 3100, 9}, {300, 20, 40}};
  Rng rng(11);
  for (const Isa isa : kEveryIsa) {
    if (!cpu_runs(isa)) continue;
    for (const auto& [m, n, k] : shapes) {
      for (Transpose ta : {Transpose::no, Transpose::yes}) {
        for (Transpose tb : {Transpose::no, Transpose::yes}) {
          for (const float beta : {0.0f, 1.0f, -0.5f}) {
            const std::size_t a_rows = ta == Transpose::yes ? k : m, a_cols = ta == Transpose::yes ? m : k;
            const std::size_t b_rows = tb == Transpose::yes ? n : k, b_cols = tb == Transpose::yes ? k : n;
            const std::size_t lda = a_cols + 3, ldb = b_cols + 1, ldc = n + 2;
            std::vector<float> a(a_rows * lda), b(b_rows * ldb), c(m * ldc);
            for (auto* v : {&a, &b, &c}) {
              for (float& x : *v) x = static_cast<float>(rng.uniform(-1, 1));
            }
            std::vector<float> expected = c;
            const GemmShape shape{ta, tb, m, n, k};
            gemm_reference<float>(shape, 0.75f, a.data(), lda, b.data(), ldb, beta, expected.data(), ldc);
            gemm_packed(isa, shape, 0.75f, a.data(), lda, b.data(), ldb, beta, c.data(), ldc, nullptr);
            for (std::size_t i = 0; i < m; ++i) {
              for (std::size_t j = 0; j < ldc; ++j) {
                const float want = expected[i * ldc + j], got = c[i * ldc + j];
                // Past column n: the padding, which must be left exactly as it was.
                if (j >= n) {
                  ASSERT_EQ(got, want) << "padding overwritten at " << i << "," << j;
                  continue;
                }
                ASSERT_NEAR(got, want, 1e-5 * (1 + std::abs(want)) * std::sqrt(double(k)))
                    << "isa " << static_cast<int>(isa) << " shape " << m << "x" << n << "x" << k << " ta "
                    << (ta == Transpose::yes) << " tb " << (tb == Transpose::yes) << " beta " << beta << " at " << i
                    << "," << j;
              }
            }
          }
        }
      }
    }
  }
}

// Splitting C over a team changes who computes a tile, never how: the
// result is bit-identical for 1, 2 and 3 threads, on shapes split by rows
// and by columns, with a partial tile at the split.
TEST(PackedGemm, ResultDoesNotDependOnTheThreadCount) {
  ThreadTeam two(2), three(3);
  Rng rng(5);
  for (const Isa isa : kEveryIsa) {
    if (!cpu_runs(isa)) continue;
    for (const auto& [m, n, k] : std::vector<Shape>{{128, 128, 784}, {128, 784, 128}, {100, 70, 300}, {37, 530, 64}}) {
      std::vector<float> a(m * k), b(k * n);
      for (float& x : a) x = static_cast<float>(rng.uniform(-1, 1));
      for (float& x : b) x = static_cast<float>(rng.uniform(-1, 1));
      std::vector<float> alone(m * n, 0.5f), by_two = alone, by_three = alone;
      const GemmShape shape{Transpose::no, Transpose::no, m, n, k};
      gemm_packed(isa, shape, 1.0f, a.data(), k, b.data(), n, 1.0f, alone.data(), n, nullptr);
      gemm_packed(isa, shape, 1.0f, a.data(), k, b.data(), n, 1.0f, by_two.data(), n, &two);
      gemm_packed(isa, shape, 1.0f, a.data(), k, b.data(), n, 1.0f, by_three.data(), n, &three);
      ASSERT_EQ(alone, by_two) << "isa " << static_cast<int>(isa) << " " << m << "x" << n << "x" << k;
      ASSERT_EQ(alone, by_three) << "isa " << static_cast<int>(isa) << " " << m << "x" << n << "x" << k;
    }
  }
}

// Weights laid out once in a scope give the floats of packing them every
// product (shapes of one and several K slices, partial panels, both layouts
// of op(B), alone and split over two threads); inside the scope a product
// really reuses the first layout (a change to the weights is not seen until
// the scope ends), and an operand outside the weights is packed afresh.
TEST(PackedGemm, WeightsPackedOnceInAScopeGiveTheSameFloats) {
  ThreadTeam two(2);
  Rng rng(8);
  for (const Isa isa : kEveryIsa) {
    if (!cpu_runs(isa)) continue;
    for (const auto& [m, n, k] : std::vector<Shape>{{250, 128, 784}, {40, 70, 300}, {9, 33, 256}, {64, 10, 64}}) {
      for (Transpose tb : {Transpose::no, Transpose::yes}) {
        std::vector<float> a(m * k), weights(k * n + 5), other(k * n);
        for (auto* v : {&a, &weights, &other}) {
          for (float& x : *v) x = static_cast<float>(rng.uniform(-1, 1));
        }
        const float* b = weights.data() + 5;  // op(B) inside the weights, not at their start
        const std::size_t ldb = tb == Transpose::yes ? k : n;
        const GemmShape shape{Transpose::no, tb, m, n, k};
        const std::string what = "isa " + std::to_string(static_cast<int>(isa)) + " " + std::to_string(m) + "x" +
                                 std::to_string(n) + "x" + std::to_string(k) + (tb == Transpose::yes ? " nt" : " nn");
        auto product = [&](const float* operand, ThreadTeam* team) {
          std::vector<float> c(m * n, 0.25f);
          gemm_packed(isa, shape, 1.0f, a.data(), k, operand, ldb, 1.0f, c.data(), n, team);
          return c;
        };
        const std::vector<float> fresh = product(b, nullptr), fresh_other = product(other.data(), nullptr);
        {
          const ReusePackedWeights reuse(weights);
          ASSERT_EQ(product(b, nullptr), fresh) << what;
          ASSERT_EQ(product(b, &two), fresh) << what;
          ASSERT_EQ(product(other.data(), nullptr), fresh_other) << what;
          for (float& x : weights) x *= 2;
          for (float& x : other) x *= 2;
          EXPECT_EQ(product(b, &two), fresh) << what << ": the weights were packed again";
          EXPECT_NE(product(other.data(), nullptr), fresh_other) << what << ": an operand outside them was reused";
        }
        EXPECT_NE(product(b, nullptr), fresh) << what << ": the scope outlived itself";
      }
    }
  }
}

// The Linear forward's product with its bias: exactly the floats of copying
// the bias into C and adding the product with beta 1 (what Linear did before
// the bias moved into the kernel), and near the reference; on one image
// (the few-rows path) and on batches cut over a team.
TEST(Gemm, PlusBiasIsBiasThenProduct) {
  Rng rng(3);
  ThreadTeam two(2);
  for (const auto& [m, n, k] : std::vector<Shape>{{1, 128, 784}, {3, 10, 64}, {128, 128, 784}, {37, 70, 300}}) {
    std::vector<float> x(m * k), w(n * k), bias(n);
    for (auto* v : {&x, &w, &bias}) {
      for (float& value : *v) value = static_cast<float>(rng.uniform(-1, 1));
    }
    const GemmShape shape{Transpose::no, Transpose::yes, m, n, k, GemmSplit::columns};
    std::vector<float> fused(m * n, std::nanf("")), by_two = fused, expected(m * n), reference(m * n);
    for (std::size_t i = 0; i < m; ++i) std::copy(bias.begin(), bias.end(), expected.begin() + i * n);
    reference = expected;
    gemm<float>(shape, 1.0f, x.data(), k, w.data(), k, 1.0f, expected.data(), n);
    gemm_reference<float>(shape, 1.0f, x.data(), k, w.data(), k, 1.0f, reference.data(), n);
    gemm_plus_bias<float>(shape, x.data(), k, w.data(), k, bias.data(), fused.data(), n);
    EXPECT_EQ(fused, expected) << m << "x" << n << "x" << k;
    if (m > kSmallBatchRows) {  // the packed kernel's own path, cut over two threads
      gemm_packed(widest_isa(), shape, 1.0f, x.data(), k, w.data(), k, 1.0f, by_two.data(), n, &two, bias.data());
      EXPECT_EQ(by_two, expected) << m << "x" << n << "x" << k << " on two threads";
    }
    for (std::size_t i = 0; i < fused.size(); ++i) ASSERT_NEAR(fused[i], reference[i], 1e-4) << i;
  }
}

// Index of the first element whose bits differ, or -1: == would fail on NaN
// and miss the sign of a zero.
long first_bit_difference(const std::vector<float>& a, const std::vector<float>& b) {
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) return static_cast<long>(i);
  }
  return a.size() == b.size() ? -1 : static_cast<long>(std::min(a.size(), b.size()));
}

// A finish done by the packed kernel to each tile gives the floats of the
// product followed by finish_reference over C: on every instruction set,
// with and without a bias, on one slice of K and on several (the finish
// must wait for the last), on edge tiles, alone and cut over two threads.
// A NaN product stays NaN through the ReLU; NaN, -0 and +0 in the mask stop
// the gradient, as x > 0 does.
TEST(PackedGemm, FinishInsideTheKernelIsTheProductThenTheFinish) {
  ThreadTeam two(2);
  Rng rng(21);
  const std::vector<Shape> shapes = {{8, 32, 256}, {13, 33, 257}, {128, 128, 784}, {37, 70, 300}, {5, 3100, 9}};
  for (const Isa isa : kEveryIsa) {
    if (!cpu_runs(isa)) continue;
    for (const auto& [m, n, k] : shapes) {
      for (Transpose ta : {Transpose::no, Transpose::yes}) {
        for (Transpose tb : {Transpose::no, Transpose::yes}) {
          const std::size_t lda = ta == Transpose::yes ? m : k, ldb = tb == Transpose::yes ? k : n;
          std::vector<float> a(m * k), b(k * n), bias(n), mask(m * n), start(m * n);
          for (auto* v : {&a, &b, &bias, &mask, &start}) {
            for (float& x : *v) x = static_cast<float>(rng.uniform(-1, 1));
          }
          a[a.size() / 2] = std::nanf("");  // a row (or column) of NaN products
          for (std::size_t i = 0; i < mask.size(); i += 7) mask[i] = std::array{0.0f, -0.0f, std::nanf("")}[i % 3];
          const GemmShape shape{ta, tb, m, n, k};
          for (const Finish finish : {Finish::relu, Finish::relu_backward}) {
            for (const bool with_bias : {false, true}) {
              const float* bias_or_null = with_bias ? bias.data() : nullptr;
              const Epilogue<float> epilogue{finish, finish == Finish::relu_backward ? mask.data() : nullptr, n};
              std::vector<float> expected = start;
              gemm_packed(isa, shape, 1.0f, a.data(), lda, b.data(), ldb, 0.5f, expected.data(), n, nullptr,
                          bias_or_null);
              finish_reference(m, n, epilogue, expected.data(), n);
              const std::string what = "isa " + std::to_string(static_cast<int>(isa)) + " " + std::to_string(m) +
                                       "x" + std::to_string(n) + "x" + std::to_string(k) + " ta " +
                                       std::to_string(ta == Transpose::yes) + " tb " +
                                       std::to_string(tb == Transpose::yes) + " finish " +
                                       std::to_string(static_cast<int>(finish)) + " bias " + std::to_string(with_bias);
              for (ThreadTeam* team : {static_cast<ThreadTeam*>(nullptr), &two}) {
                std::vector<float> fused = start;
                gemm_packed(isa, shape, 1.0f, a.data(), lda, b.data(), ldb, 0.5f, fused.data(), n, team,
                            bias_or_null, epilogue);
                ASSERT_EQ(first_bit_difference(fused, expected), -1) << what << (team ? " on two threads" : "");
              }
              // The finish did something and kept something.
              const auto zeros = std::count(expected.begin(), expected.end(), 0.0f);
              EXPECT_GT(zeros, 0) << what;
              EXPECT_LT(zeros, static_cast<long>(expected.size()) - 1) << what;
            }
          }
        }
      }
    }
  }
}

// A forward computed as its transpose (the weights' rows read in place)
// gives the floats of the packed product with its bias, bit for bit: alone
// and on teams of two and three, with and without the ReLU, at shapes with
// partial tiles on every side, several K slices and none (k = 0), and row
// strides wider than the matrices; the padding of C is left as it was.
TEST(PackedGemm, ByWeightRowsGivesTheFloatsOfThePackedProduct) {
  ThreadTeam two(2), three(3);
  Rng rng(12);
  for (const Isa isa : kEveryIsa) {
    if (!cpu_runs(isa)) continue;
    for (const auto& [m, n, k] :
         std::vector<Shape>{{64, 128, 784}, {13, 70, 257}, {128, 500, 300}, {5, 33, 1}, {9, 40, 0}, {30, 7, 20}}) {
      const std::size_t lda = k + 3, ldb = k + 1, ldc = n + 2;
      std::vector<float> a(m * lda), b(n * ldb), bias(n), start(m * ldc);
      for (auto* v : {&a, &b, &bias, &start}) {
        for (float& x : *v) x = static_cast<float>(rng.uniform(-1, 1));
      }
      for (const Finish finish : {Finish::none, Finish::relu}) {
        std::vector<float> expected = start;
        gemm_packed(isa, {Transpose::no, Transpose::yes, m, n, k}, 1.0f, a.data(), lda, b.data(), ldb, 1.0f,
                    expected.data(), ldc, nullptr, bias.data(), {finish});
        for (ThreadTeam* team : {static_cast<ThreadTeam*>(nullptr), &two, &three}) {
          std::vector<float> c = start;
          gemm_packed_by_weight_rows(isa, m, n, k, a.data(), lda, b.data(), ldb, bias.data(), c.data(), ldc, team,
                                     finish);
          ASSERT_EQ(first_bit_difference(c, expected), -1)
              << "isa " << static_cast<int>(isa) << " " << m << "x" << n << "x" << k << " relu "
              << (finish == Finish::relu) << " threads " << (team == nullptr ? 1 : team->size());
        }
      }
    }
  }
}

// A B whose rows start on cache lines an odd number of lines apart is read
// in place by the vector kernels (its last, partial panel still packed);
// the same B one float off a line is packed whole. The same floats either
// way: on every instruction set, one and several slices of K, a padded
// leading dimension, alone and cut over two threads, with a bias.
TEST(PackedGemm, BReadInPlaceGivesTheFloatsOfPackedB) {
  ThreadTeam two(2);
  Rng rng(41);
  struct Case {
    std::size_t m, n, k, ldb;
  };
  for (const Isa isa : kEveryIsa) {
    if (!cpu_runs(isa)) continue;
    for (const Case& t : std::vector<Case>{{128, 784, 128, 784}, {37, 784, 300, 784}, {64, 390, 64, 400}, {9, 48, 520, 48}}) {
      std::vector<float> a(t.m * t.k), bias(t.n), start(t.m * t.n);
      AlignedVector<float> lined(t.k * t.ldb), off_line(t.k * t.ldb + 1);
      for (auto* v : {&a, &bias, &start}) {
        for (float& x : *v) x = static_cast<float>(rng.uniform(-1, 1));
      }
      for (float& x : lined) x = static_cast<float>(rng.uniform(-1, 1));
      std::copy(lined.begin(), lined.end(), off_line.begin() + 1);
      const GemmShape shape{Transpose::no, Transpose::no, t.m, t.n, t.k};
      for (ThreadTeam* team : {static_cast<ThreadTeam*>(nullptr), &two}) {
        for (const float* with_bias : {static_cast<const float*>(nullptr), static_cast<const float*>(bias.data())}) {
          std::vector<float> in_place = start, packed = start;
          gemm_packed(isa, shape, 1.0f, a.data(), t.k, lined.data(), t.ldb, 1.0f, in_place.data(), t.n, team,
                      with_bias);
          gemm_packed(isa, shape, 1.0f, a.data(), t.k, off_line.data() + 1, t.ldb, 1.0f, packed.data(), t.n, team,
                      with_bias);
          EXPECT_EQ(first_bit_difference(in_place, packed), -1)
              << "isa " << static_cast<int>(isa) << " " << t.m << "x" << t.n << "x" << t.k << " ldb " << t.ldb
              << (team ? " on two threads" : "") << (with_bias ? " with a bias" : "");
        }
      }
    }
  }
}

// The few-rows kernel gives the same floats in AVX2 and AVX-512 (one image
// classified alike on both machines; a last batch of a few rows trains the
// same model), whatever tail k, n and the groups of rows leave, for any row
// of A and with alpha and beta.
TEST(SmallRows, Avx2AndAvx512GiveTheSameFloats) {
  if (!cpu_runs(Isa::avx2) || !cpu_runs(Isa::avx512)) GTEST_SKIP() << "this CPU does not run both";
  Rng rng(17);
  for (const std::size_t k : {1u, 5u, 8u, 15u, 16u, 17u, 31u, 33u, 64u, 100u, 784u, 1000u}) {
    for (const std::size_t n : {1u, 3u, 4u, 5u, 7u, 8u, 9u, 10u, 13u, 64u, 130u}) {
      for (const std::size_t m : {1u, 4u}) {
        AlignedVector<float> a(m * k), b(n * k), start(m * n);
        for (auto* v : {&a, &b, &start}) {
          for (float& x : *v) x = static_cast<float>(rng.uniform(-1, 1));
        }
        std::vector<float> avx2(start.begin(), start.end()), avx512 = avx2;
        gemm_small_rows_nt(Isa::avx2, m, n, k, 0.75f, a.data(), k, b.data(), k, 0.5f, avx2.data(), n);
        gemm_small_rows_nt(Isa::avx512, m, n, k, 0.75f, a.data(), k, b.data(), k, 0.5f, avx512.data(), n);
        EXPECT_EQ(first_bit_difference(avx2, avx512), -1) << "m " << m << " n " << n << " k " << k;
      }
    }
  }
}

// A few-rows product large enough to be shared with the kernel team's
// waiting members (chunks of 16 rows of B, taken by whoever comes first)
// gives the floats of one thread computing it all, whoever took which
// chunk: a thousand products back to back keep the member awake and in them.
// Whether a product is shared is learned from timings (FasterOfTwo), but
// each way runs in bursts of eight at first and again now and then, so
// these products include shared ones whichever way this machine prefers.
TEST(SmallRows, ASharedProductGivesTheFloatsOfOneThread) {
  set_kernel_threads(2);
  Rng rng(23);
  for (const auto& [m, n, k] : std::vector<Shape>{{1, 128, 784}, {1, 130, 784}, {2, 300, 200}, {4, 47, 900}}) {
    AlignedVector<float> a(m * k), b(n * k), bias(n);
    for (auto* v : {&a, &b, &bias}) {
      for (float& x : *v) x = static_cast<float>(rng.uniform(-1, 1));
    }
    std::vector<float> alone(m * n), shared(m * n);
    for (std::size_t i = 0; i < m; ++i) std::copy_n(bias.begin(), n, alone.data() + i * n);
    gemm_small_rows_nt(widest_isa(), m, n, k, 1.0f, a.data(), k, b.data(), k, 1.0f, alone.data(), n);
    for (int call = 0; call < 1000; ++call) {
      std::fill(shared.begin(), shared.end(), -7.0f);
      gemm_plus_bias<float>({Transpose::no, Transpose::yes, m, n, k}, a.data(), k, b.data(), k, bias.data(),
                            shared.data(), n, {});
      ASSERT_EQ(first_bit_difference(alone, shared), -1) << "m " << m << " n " << n << " k " << k << " call " << call;
    }
  }
  set_kernel_threads(0);
}

// Runs `calls` of a FasterOfTwo whose ways cost cost(call, way); returns how
// many ran way 1.
template <typename Cost>
int runs_of_way_1(FasterOfTwo& ways, int calls, Cost cost, int first_call = 0) {
  int ones = 0;
  for (int call = first_call; call < first_call + calls; ++call) {
    const int way = ways.next();
    ones += way;
    ways.record(way, cost(call, way));
  }
  return ones;
}

// The cheaper way runs almost always once both are timed; the other is
// retried now and then, less and less often while it stays dearer.
TEST(FasterOfTwo, RunsTheCheaperWayAndRetriesTheOtherNowAndThen) {
  for (const int cheaper : {0, 1}) {
    FasterOfTwo ways;
    const int ones = runs_of_way_1(ways, 20000, [&](int, int way) { return way == cheaper ? 1.0 : 2.0; });
    const int dearer_runs = cheaper == 1 ? 20000 - ones : ones;
    EXPECT_GE(dearer_runs, 8 * 6) << "a first burst and retries after 32, 64, ... runs";
    // Bursts of 8 after 32, 64, ..., 512 runs, then every 1024: 1% of the runs.
    EXPECT_LE(dearer_runs, 8 * 26) << "retries at most every 1024 runs after the first few";
    EXPECT_LT(ways.cost(cheaper), ways.cost(1 - cheaper));
  }
}

// When the machine changes (here: way 1 becomes the cheaper at call 5000),
// the next retry notices, and the choice follows within a few retry spans.
TEST(FasterOfTwo, FollowsAChangeInWhichWayIsCheaper) {
  FasterOfTwo ways;
  auto cost = [](int call, int way) { return call < 5000 ? (way == 0 ? 1.0 : 3.0) : (way == 0 ? 3.0 : 1.0); };
  EXPECT_LT(runs_of_way_1(ways, 5000, cost), 100);
  runs_of_way_1(ways, 3000, cost, 5000);
  EXPECT_GT(runs_of_way_1(ways, 1000, cost, 8000), 990);
}

// The first runs of a burst (a helper thread woken from sleep) are not
// timed, and one run the system interrupted (100x the usual cost) does not
// flip the choice. Way 1 becomes the cheaper at call 1000, but after 16 runs
// of way 0 in a row its next 4 are slow (cold): only its retries show it.
TEST(FasterOfTwo, IgnoresColdStartsAndOneInterruptedRun) {
  FasterOfTwo ways;
  int way_0_streak = 0, way_1_streak = 0, way_0_before = 0;  // runs of each in a row
  auto cost = [&](int call, int way) {
    if (way == 1) {
      if (way_1_streak++ == 0) way_0_before = way_0_streak;
      way_0_streak = 0;
    } else {
      ++way_0_streak;
      way_1_streak = 0;
    }
    if (way == 1 && way_0_before >= 16 && way_1_streak <= 4) return 50.0;
    if (call == 5000) return 100.0;
    return way == 0 ? 2.0 : call < 1000 ? 3.0 : 1.0;
  };
  runs_of_way_1(ways, 4000, cost);
  EXPECT_GT(runs_of_way_1(ways, 4000, cost, 4000), 3920) << "way 0 only in its retries";
  EXPECT_NEAR(ways.cost(1), 1.0, 1e-3);
}

// AVX2 + FMA and AVX-512 add the products of each element in the same order
// (along k, a slice at a time) with the same fused multiply-adds, so they
// give the same floats, tiles of 6 x 16 or 8 x 32 alike: a model trained on
// an AVX2-only machine is the one an AVX-512 machine trains (checked end to
// end with the instruction set forced: byte-identical preset models).
TEST(PackedGemm, Avx2AndAvx512GiveTheSameFloats) {
  if (!cpu_runs(Isa::avx2) || !cpu_runs(Isa::avx512)) GTEST_SKIP() << "this CPU does not run both";
  Rng rng(31);
  for (const auto& [m, n, k] : std::vector<Shape>{{128, 128, 784}, {13, 33, 257}, {64, 10, 128}, {37, 530, 64}}) {
    for (Transpose ta : {Transpose::no, Transpose::yes}) {
      for (Transpose tb : {Transpose::no, Transpose::yes}) {
        const std::size_t lda = ta == Transpose::yes ? m : k, ldb = tb == Transpose::yes ? k : n;
        std::vector<float> a(m * k), b(k * n), bias(n), start(m * n);
        for (auto* v : {&a, &b, &bias, &start}) {
          for (float& x : *v) x = static_cast<float>(rng.uniform(-1, 1));
        }
        const GemmShape shape{ta, tb, m, n, k};
        std::vector<float> avx2 = start, avx512 = start, avx2_bias = start, avx512_bias = start;
        gemm_packed(Isa::avx2, shape, 0.75f, a.data(), lda, b.data(), ldb, 0.3f, avx2.data(), n, nullptr);
        gemm_packed(Isa::avx512, shape, 0.75f, a.data(), lda, b.data(), ldb, 0.3f, avx512.data(), n, nullptr);
        gemm_packed(Isa::avx2, shape, 1.0f, a.data(), lda, b.data(), ldb, 1.0f, avx2_bias.data(), n, nullptr,
                    bias.data(), {Finish::relu});
        gemm_packed(Isa::avx512, shape, 1.0f, a.data(), lda, b.data(), ldb, 1.0f, avx512_bias.data(), n, nullptr,
                    bias.data(), {Finish::relu});
        const std::string what = std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k) + " ta " +
                                 std::to_string(ta == Transpose::yes) + " tb " + std::to_string(tb == Transpose::yes);
        EXPECT_EQ(first_bit_difference(avx2, avx512), -1) << what;
        EXPECT_EQ(first_bit_difference(avx2_bias, avx512_bias), -1) << what << " with a bias and a ReLU";
      }
    }
  }
}

TEST(Gemm, FinishOnEveryPathIsTheProductThenTheFinish) {
  // One image (the few-rows path), a batch (the packed kernel) and double (the reference loops).
  Rng rng(4);
  for (const std::size_t m : {std::size_t{1}, std::size_t{40}}) {
    const std::size_t n = 70, k = 300;
    std::vector<float> x(m * k), w(n * k), bias(n), mask(m * n);
    for (auto* v : {&x, &w, &bias, &mask}) {
      for (float& value : *v) value = static_cast<float>(rng.uniform(-1, 1));
    }
    const GemmShape forward{Transpose::no, Transpose::yes, m, n, k};
    std::vector<float> plain(m * n), relu(m * n), masked(m * n);
    gemm_plus_bias<float>(forward, x.data(), k, w.data(), k, bias.data(), plain.data(), n);
    gemm_plus_bias<float>(forward, x.data(), k, w.data(), k, bias.data(), relu.data(), n, {Finish::relu});
    gemm<float>(forward, 1.0f, x.data(), k, w.data(), k, 0.0f, masked.data(), n,
                {Finish::relu_backward, mask.data(), n});
    std::vector<float> unmasked(m * n);
    gemm<float>(forward, 1.0f, x.data(), k, w.data(), k, 0.0f, unmasked.data(), n);
    for (std::size_t i = 0; i < m * n; ++i) {
      ASSERT_EQ(relu[i], std::max(plain[i], 0.0f)) << m << " rows, at " << i;
      ASSERT_EQ(masked[i], mask[i] > 0 ? unmasked[i] : 0.0f) << m << " rows, at " << i;
    }
  }
  std::vector<double> a{1, -2, 3, 4}, b{1, 1}, c(2);
  gemm<double>({Transpose::no, Transpose::no, 2, 1, 2}, 1.0, a.data(), 2, b.data(), 1, 0.0, c.data(), 1,
               {Finish::relu});
  EXPECT_EQ(c, (std::vector<double>{0, 7}));
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

// BPNET_MAX_ISA narrows the CPU's instruction set and never widens it; any
// other value is an error that names the variable and the value.
TEST(Isa, TheCapIsTheNarrowerOfTheCpuAndTheSetting) {
  EXPECT_EQ(capped_isa(Isa::avx512, nullptr), Isa::avx512);
  EXPECT_EQ(capped_isa(Isa::avx512, ""), Isa::avx512);
  EXPECT_EQ(capped_isa(Isa::avx512, "avx2"), Isa::avx2);
  EXPECT_EQ(capped_isa(Isa::avx512, "plain"), Isa::plain);
  EXPECT_EQ(capped_isa(Isa::avx2, "avx512"), Isa::avx2);
  EXPECT_EQ(capped_isa(Isa::plain, "avx2"), Isa::plain);
  for (const Isa isa : kEveryIsa) EXPECT_EQ(capped_isa(Isa::avx512, isa_name(isa)), isa);
  for (const char* bad : {"AVX2", "avx3", "avx2 ", "sse"}) {
    try {
      capped_isa(Isa::avx512, bad);
      ADD_FAILURE() << "'" << bad << "' was accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("BPNET_MAX_ISA is '" + std::string(bad) + "'"), std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace bpnet
