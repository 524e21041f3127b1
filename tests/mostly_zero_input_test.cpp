// Training's first-layer products from the nonzero inputs alone, against the
// packed GEMM of the same instruction set (float for float), on one kernel
// thread and on two; with a background of -1, against the packed GEMM on
// the inputs moved by it and against the exact products; and the judgement
// of what is mostly background.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <vector>

#include "bpnet/random.hpp"
#include "kernels/kernel_threads.hpp"
#include "kernels/mostly_zero_input.hpp"
#include "kernels/packed_gemm.hpp"

namespace bpnet {
namespace {

struct Case {
  std::size_t rows, in, out;
};

// Values in (0, 1], each nonzero with probability `share`.
std::vector<float> random_inputs(std::size_t n, double share, Rng& rng) {
  std::vector<float> x(n);
  for (float& v : x) v = rng.uniform(0, 1) < share ? static_cast<float>(rng.uniform(0.001, 1)) : 0.0f;
  return x;
}

std::vector<float> random_values(std::size_t n, Rng& rng) {
  std::vector<float> v(n);
  for (float& e : v) e = static_cast<float>(rng.uniform(-1, 1));
  return v;
}

void expect_same_floats(const std::vector<float>& got, const std::vector<float>& expected, const std::string& what) {
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(std::bit_cast<std::uint32_t>(got[i]), std::bit_cast<std::uint32_t>(expected[i]))
        << what << " at " << i << ": " << got[i] << " vs " << expected[i];
  }
}

TEST(MostlyZeroInput, EveryInstructionSetGivesThePackedProductsFloats) {
  Rng rng(21);
  int checked = 0;
  for (const int threads : {1, 2}) {
    set_kernel_threads(threads);
    for (const Isa isa : kEveryIsa) {
      if (!cpu_runs(isa) || !mostly_zero_products_run(isa, 5)) continue;
      // keras-seed's layer; several K slices and a partial one; outputs under,
      // at and past a block, cut or not; the most rows; a lone input and output.
      for (const Case c : {Case{64, 784, 128}, Case{5, 100, 100}, Case{256, 600, 70}, Case{17, 300, 200},
                           Case{33, 513, 130}, Case{9, 1, 1}}) {
        const std::vector<float> w = random_values(c.out * c.in, rng), b = random_values(c.out, rng);
        const std::vector<float> dy = random_values(c.rows * c.out, rng);
        for (const double share : {0.0, 0.2, 1.0}) {
          // Exactly the inputs: a read past them is an error under ASan.
          const std::vector<float> x = random_inputs(c.rows * c.in, share, rng);
          const std::string what = std::string(isa_name(isa)) + " " + std::to_string(c.rows) + "x" +
                                   std::to_string(c.in) + "->" + std::to_string(c.out) + " share " +
                                   std::to_string(share) + " threads " + std::to_string(threads);
          for (const bool relu : {false, true}) {
            std::vector<float> dense(c.rows * c.out), by_weight_rows(c.rows * c.out), y(c.rows * c.out, -7.0f);
            gemm_packed(isa, {Transpose::no, Transpose::yes, c.rows, c.out, c.in}, 1.0f, x.data(), c.in, w.data(),
                        c.in, 1.0f, dense.data(), c.out, nullptr, b.data(), {relu ? Finish::relu : Finish::none});
            gemm_packed_by_weight_rows(isa, c.rows, c.out, c.in, x.data(), c.in, w.data(), c.in, b.data(),
                                       by_weight_rows.data(), c.out, nullptr, relu ? Finish::relu : Finish::none);
            mostly_zero_forward(isa, x.data(), 0.0f, c.rows, c.in, w.data(), b.data(), c.out, relu, y.data(), c.out);
            expect_same_floats(y, dense, what + " forward, relu " + std::to_string(relu));
            expect_same_floats(y, by_weight_rows, what + " forward as its transpose");
          }
          std::vector<float> dense_dw(c.out * c.in, 5.0f), dw(c.out * c.in, -7.0f);
          gemm_packed(isa, {Transpose::yes, Transpose::no, c.out, c.in, c.rows}, 1.0f, dy.data(), c.out, x.data(),
                      c.in, 0.0f, dense_dw.data(), c.in, nullptr);
          mostly_zero_weight_gradient(isa, x.data(), 0.0f, c.rows, c.in, dy.data(), c.out, c.out, dw.data());
          expect_same_floats(dw, dense_dw, what + " dW");
          ++checked;
        }
      }
    }
  }
  set_kernel_threads(0);
  if (checked == 0) GTEST_SKIP() << "this CPU runs neither AVX2 nor AVX-512";
}

// x with its zero entries made `background` and the others moved by it;
// every 13th entry is 0, which is then an input like any other.
std::vector<float> with_background(std::vector<float> x, float background) {
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = i % 13 == 0 ? 0.0f : x[i] == 0.0f ? background : 2 * x[i] + background;
  }
  return x;
}

// Whether got is one of the two floats next to `exact`: rounded once.
bool rounded_once(float got, long double exact) {
  const auto below = static_cast<float>(exact);
  const float other = static_cast<long double>(below) < exact ? std::nextafter(below, INFINITY)
                                                               : std::nextafter(below, -INFINITY);
  return got == below || got == other;
}

TEST(MostlyZeroInput, ABackgroundIsTakenOutOfTheInputsAndAddedBackThroughTheSums) {
  Rng rng(22);
  int checked = 0;
  double worst = 0;  // the largest error against the exact product, over the sum of the terms' sizes
  for (const int threads : {1, 2}) {
    set_kernel_threads(threads);
    for (const Isa isa : kEveryIsa) {
      if (!cpu_runs(isa) || !mostly_zero_products_run(isa, 5)) continue;
      for (const Case c : {Case{128, 784, 128}, Case{5, 100, 100}, Case{33, 513, 130}}) {
        const std::vector<float> w = random_values(c.out * c.in, rng), b = random_values(c.out, rng);
        const std::vector<float> dy = random_values(c.rows * c.out, rng);
        std::vector<float> bias(c.out);
        background_bias(w.data(), c.in, b.data(), c.out, -1.0f, bias.data());
        for (std::size_t j = 0; j < c.out; ++j) {
          long double exact = b[j];
          for (std::size_t k = 0; k < c.in; ++k) exact -= w[j * c.in + k];
          ASSERT_TRUE(rounded_once(bias[j], exact)) << "bias " << j << ": " << bias[j] << " vs " << double(exact);
        }
        for (const double share : {0.2, 1.0}) {
          const std::vector<float> x = with_background(random_inputs(c.rows * c.in, share, rng), -1.0f);
          std::vector<float> shifted = x;
          for (float& v : shifted) v += 1.0f;
          const std::string what = std::string(isa_name(isa)) + " " + std::to_string(c.rows) + "x" +
                                   std::to_string(c.in) + "->" + std::to_string(c.out) + " share " +
                                   std::to_string(share) + " threads " + std::to_string(threads);
          // The floats: the packed GEMM on x - background, the sums' terms added as documented.
          std::vector<float> expected_y(c.rows * c.out), y(c.rows * c.out, -7.0f);
          gemm_packed(isa, {Transpose::no, Transpose::yes, c.rows, c.out, c.in}, 1.0f, shifted.data(), c.in, w.data(),
                      c.in, 1.0f, expected_y.data(), c.out, nullptr, bias.data(), {Finish::none});
          mostly_zero_forward(isa, x.data(), -1.0f, c.rows, c.in, w.data(), b.data(), c.out, false, y.data(), c.out);
          expect_same_floats(y, expected_y, what + " forward");
          std::vector<float> expected_dw(c.out * c.in, 5.0f), dw(c.out * c.in, -7.0f);
          gemm_packed(isa, {Transpose::yes, Transpose::no, c.out, c.in, c.rows}, 1.0f, dy.data(), c.out,
                      shifted.data(), c.in, 0.0f, expected_dw.data(), c.in, nullptr);
          add_background_gradient(dy.data(), c.rows, c.out, c.out, -1.0f, expected_dw.data(), c.in);
          mostly_zero_weight_gradient(isa, x.data(), -1.0f, c.rows, c.in, dy.data(), c.out, c.out, dw.data());
          expect_same_floats(dw, expected_dw, what + " dW");
          // And the products of x itself, as near the exact ones as float sums get.
          for (std::size_t r = 0; r < c.rows; r += 7) {
            for (std::size_t j = 0; j < c.out; ++j) {
              long double exact = b[j], size = std::fabs(b[j]);
              for (std::size_t k = 0; k < c.in; ++k) {
                exact += static_cast<long double>(x[r * c.in + k]) * w[j * c.in + k];
                size += std::fabs(static_cast<long double>(x[r * c.in + k]) * w[j * c.in + k]);
              }
              worst = std::max(worst, static_cast<double>(std::fabs(y[r * c.out + j] - exact) / size));
            }
          }
          for (std::size_t j = 0; j < c.out; j += 5) {
            for (std::size_t k = 0; k < c.in; k += 3) {
              long double exact = 0, size = 0;
              for (std::size_t r = 0; r < c.rows; ++r) {
                exact += static_cast<long double>(dy[r * c.out + j]) * x[r * c.in + k];
                size += std::fabs(static_cast<long double>(dy[r * c.out + j]) * x[r * c.in + k]);
              }
              worst = std::max(worst, static_cast<double>(std::fabs(dw[j * c.in + k] - exact) / size));
            }
          }
          ++checked;
        }
      }
    }
  }
  set_kernel_threads(0);
  if (checked == 0) GTEST_SKIP() << "this CPU runs neither AVX2 nor AVX-512";
  EXPECT_LT(worst, 1e-5) << "against the exact products, relative to the sum of the terms' sizes";
  std::printf("worst error against the exact products, relative to the terms' sizes: %.3g\n", worst);
}

TEST(MostlyZeroInput, RunsForMoreThanAFewRowsUpToOneSliceOfK) {
  const Isa isa = cpu_runs(Isa::avx2) ? Isa::avx2 : Isa::plain;
  if (isa == Isa::plain) GTEST_SKIP() << "this CPU does not run AVX2";
  EXPECT_FALSE(mostly_zero_products_run(isa, 4)) << "a few rows sum in the few-rows kernel's order";
  EXPECT_TRUE(mostly_zero_products_run(isa, 5));
  EXPECT_TRUE(mostly_zero_products_run(isa, kGemmKc));
  EXPECT_FALSE(mostly_zero_products_run(isa, kGemmKc + 1)) << "dW's K would take two slices";
  EXPECT_FALSE(mostly_zero_products_run(Isa::plain, 64));
}

TEST(MostlyZeroInput, MostlyZerosJudgesTheShareOfNonzeroInputs) {
  Rng rng(4);
  EXPECT_TRUE(mostly_zeros(random_inputs(64 * 784, 0.2, rng).data(), 64, 784, 784, 0.0f));
  EXPECT_FALSE(mostly_zeros(random_inputs(64 * 784, 0.6, rng).data(), 64, 784, 784, 0.0f));
  // Rows ld apart: what lies between them is not looked at.
  std::vector<float> spaced(8 * 20, 1.0f);
  for (std::size_t r = 0; r < 8; ++r) std::fill_n(spaced.begin() + r * 20, 10, 0.0f);
  EXPECT_TRUE(mostly_zeros(spaced.data(), 8, 10, 20, 0.0f));
  std::vector<float> dense_first_row(8 * 10, 0.0f);
  std::fill_n(dense_first_row.begin(), 9, 1.0f);  // 11% of the whole, 90% of the first row
  EXPECT_FALSE(mostly_zeros(dense_first_row.data(), 8, 10, 10, 0.0f)) << "a first row 90% nonzero decides at once";
  std::vector<float> nans(8 * 10, 0.0f);
  std::fill_n(nans.begin(), 40, std::nanf(""));
  EXPECT_FALSE(mostly_zeros(nans.data(), 8, 10, 10, 0.0f)) << "a NaN is not a zero";
  // Another background: what counts is the entries that are not it.
  const std::vector<float> torch_pixels = with_background(random_inputs(64 * 784, 0.2, rng), -1.0f);
  EXPECT_TRUE(mostly_zeros(torch_pixels.data(), 64, 784, 784, -1.0f));
  EXPECT_FALSE(mostly_zeros(torch_pixels.data(), 64, 784, 784, 0.0f)) << "no -1 is a zero";
}

}  // namespace
}  // namespace bpnet
