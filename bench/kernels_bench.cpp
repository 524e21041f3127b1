// GEMM at the preset networks' shapes: the reference loops against the fast
// kernel (OpenBLAS). Reports GFLOP/s per shape; the ratio is the reason the
// fast kernel exists. Run: build/release/bench/kernels_bench
#include <benchmark/benchmark.h>

#include <vector>

#include "kernels/gemm.hpp"
#include "kernels/small_batch.hpp"
#include "bpnet/random.hpp"

namespace {

using bpnet::GemmShape;
using bpnet::Transpose;

// (B, out, in) of each Linear layer in torch-seed and keras-seed, and the
// three products each needs: forward y = x W^T, dx = dy W, dW = dy^T x.
enum Product { kForward, kInputGrad, kWeightGrad };

GemmShape shape_for(Product p, std::size_t batch, std::size_t out, std::size_t in) {
  switch (p) {
    case kForward: return {Transpose::no, Transpose::yes, batch, out, in};
    case kInputGrad: return {Transpose::no, Transpose::no, batch, in, out};
    case kWeightGrad: return {Transpose::yes, Transpose::no, out, in, batch};
  }
  return {};
}

template <bool kReference>
void BM_Gemm(benchmark::State& state) {
  const auto product = static_cast<Product>(state.range(0));
  const auto batch = static_cast<std::size_t>(state.range(1));
  const auto out = static_cast<std::size_t>(state.range(2));
  const auto in = static_cast<std::size_t>(state.range(3));
  const GemmShape s = shape_for(product, batch, out, in);
  bpnet::Rng rng(1);
  std::vector<float> a(s.m * s.k), b(s.k * s.n), c(s.m * s.n);
  for (float& v : a) v = static_cast<float>(rng.uniform(-1, 1));
  for (float& v : b) v = static_cast<float>(rng.uniform(-1, 1));
  const std::size_t lda = s.trans_a == Transpose::yes ? s.m : s.k;
  const std::size_t ldb = s.trans_b == Transpose::yes ? s.k : s.n;
  for (auto _ : state) {
    if constexpr (kReference) {
      bpnet::gemm_reference<float>(s, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), s.n);
    } else {
      bpnet::gemm<float>(s, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), s.n);
    }
    benchmark::DoNotOptimize(c.data());
  }
  const double flops = 2.0 * static_cast<double>(s.m * s.n * s.k);
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

void PresetShapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"product", "B", "out", "in"});
  for (int product : {kForward, kInputGrad, kWeightGrad}) {
    b->Args({product, 128, 128, 784});  // torch-seed layer 1
    b->Args({product, 128, 64, 128});   // torch-seed layer 2
    b->Args({product, 128, 10, 64});    // torch-seed layer 3
    b->Args({product, 64, 128, 784});   // keras-seed layer 1
  }
}

BENCHMARK(BM_Gemm<true>)->Name("gemm_reference")->Apply(PresetShapes);
BENCHMARK(BM_Gemm<false>)->Name("gemm_openblas")->Apply(PresetShapes);

// One image through a Linear layer (y = x W^T, W: (out, in)): the few-rows
// kernel in each instruction set this CPU runs (plain = the reference loops).
void BM_OneImage(benchmark::State& state) {
  const auto isa = static_cast<int>(state.range(0));
  const auto out = static_cast<std::size_t>(state.range(1));
  const auto in = static_cast<std::size_t>(state.range(2));
  bpnet::Rng rng(1);
  std::vector<float> x(in), w(out * in), y(out);
  for (float& v : x) v = static_cast<float>(rng.uniform(-1, 1));
  for (float& v : w) v = static_cast<float>(rng.uniform(-1, 1));
  if (!bpnet::cpu_runs(static_cast<bpnet::SmallRowsIsa>(isa))) {
    state.SkipWithError("this CPU lacks the instruction set");
    return;
  }
  for (auto _ : state) {
    bpnet::gemm_small_rows_nt(static_cast<bpnet::SmallRowsIsa>(isa), 1, out, in, 1.0f, x.data(), in, w.data(), in,
                              0.0f, y.data(), out);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(out * in),
                                                 benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}
BENCHMARK(BM_OneImage)
    ->ArgNames({"isa(0 plain,1 avx2,2 avx512)", "out", "in"})
    ->ArgsProduct({{0, 1, 2}, {128}, {784}})
    ->ArgsProduct({{0, 1, 2}, {64}, {128}})
    ->ArgsProduct({{0, 1, 2}, {10}, {64}});

}  // namespace

BENCHMARK_MAIN();
