// GEMM at the preset networks' shapes: the reference loops, OpenBLAS,
// bpnet's packed GEMM in each instruction set and, where libdnnl-dev is
// installed, oneDNN's sgemm. Reports GFLOP/s per shape; the ratios are why
// gemm<float> runs the kernel it runs.
// Run: build/release/bench/kernels_bench [--benchmark_filter=gemm/kernel...];
// gemm_cold/... times the widest layer's products after evicting the caches.
#include <benchmark/benchmark.h>
#include <cblas.h>
#ifdef BPNET_BENCH_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <unistd.h>
#endif

#include <cstdlib>
#include <memory>
#include <vector>

#include "kernels/gemm.hpp"
#include "kernels/packed_gemm.hpp"
#include "kernels/small_batch.hpp"
#include "parallel/thread_team.hpp"
#include "bpnet/aligned_vector.hpp"
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

// The kernels set side by side: the reference loops, OpenBLAS's sgemm (what
// bpnet used before its own kernel), bpnet's packed GEMM in each instruction
// set, and oneDNN's sgemm (its JIT kernels for this CPU) when built in; each
// fast one on 1 and 2 threads.
enum Kernel { kReference, kOpenBlas, kPackedPlain, kPackedAvx2, kPackedAvx512, kOneDnn };

bpnet::Isa isa_of(Kernel kernel) {
  return kernel == kPackedAvx512 ? bpnet::Isa::avx512 : kernel == kPackedAvx2 ? bpnet::Isa::avx2 : bpnet::Isa::plain;
}

// Reads 64 MB (twice the 32 MB L3 of the machines measured), a part on each
// thread of the team: what a product in training finds, its operands last
// touched by the passes in between (the update, the other layers) and by the
// other core, not in its own L2. The team's members stay awake, as between a
// step's products (asleep, they would wake up for the product, which is not
// what this measures).
void evict_caches(bpnet::ThreadTeam* team) {
  static bpnet::AlignedVector<float> sweep(std::size_t{16} << 20, 1.0f);
  auto read_part = [&](int part, int parts) {
    const std::size_t lines = sweep.size() / 16, p = static_cast<std::size_t>(part), n = static_cast<std::size_t>(parts);
    float sum = 0;
    for (std::size_t line = lines * p / n; line < lines * (p + 1) / n; ++line) sum += sweep[line * 16];
    benchmark::DoNotOptimize(sum);
  };
  if (team == nullptr) {
    read_part(0, 1);
  } else {
    team->run([&](int member) { read_part(member, team->size()); });
  }
}

// One product per iteration; with `cold`, the caches evicted before each
// (not timed).
void time_gemm(benchmark::State& state, bool cold) {
  const auto kernel = static_cast<Kernel>(state.range(0));
  const auto threads = static_cast<int>(state.range(1));
  const auto product = static_cast<Product>(state.range(2));
  const auto batch = static_cast<std::size_t>(state.range(3));
  const auto out = static_cast<std::size_t>(state.range(4));
  const auto in = static_cast<std::size_t>(state.range(5));
  if (kernel >= kPackedPlain && !bpnet::cpu_runs(isa_of(kernel))) {
    state.SkipWithError("this CPU lacks the instruction set");
    return;
  }
  const GemmShape s = shape_for(product, batch, out, in);
  bpnet::Rng rng(1);
  bpnet::AlignedVector<float> a(s.m * s.k), b(s.k * s.n), c(s.m * s.n);  // as the model stores them
  for (float& v : a) v = static_cast<float>(rng.uniform(-1, 1));
  for (float& v : b) v = static_cast<float>(rng.uniform(-1, 1));
  const std::size_t lda = s.trans_a == Transpose::yes ? s.m : s.k;
  const std::size_t ldb = s.trans_b == Transpose::yes ? s.k : s.n;
  openblas_set_num_threads(threads);
#ifdef BPNET_BENCH_ONEDNN
  omp_set_num_threads(threads);
#endif
  std::unique_ptr<bpnet::ThreadTeam> team = threads > 1 ? std::make_unique<bpnet::ThreadTeam>(threads) : nullptr;
  for (auto _ : state) {
    if (cold) {
      state.PauseTiming();
      evict_caches(team.get());
      state.ResumeTiming();
    }
    switch (kernel) {
      case kReference:
        bpnet::gemm_reference<float>(s, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), s.n);
        break;
      case kOpenBlas:
        cblas_sgemm(CblasRowMajor, s.trans_a == Transpose::yes ? CblasTrans : CblasNoTrans,
                    s.trans_b == Transpose::yes ? CblasTrans : CblasNoTrans, static_cast<int>(s.m),
                    static_cast<int>(s.n), static_cast<int>(s.k), 1.0f, a.data(), static_cast<int>(lda), b.data(),
                    static_cast<int>(ldb), 0.0f, c.data(), static_cast<int>(s.n));
        break;
#ifdef BPNET_BENCH_ONEDNN
      case kOneDnn:
        dnnl_sgemm(s.trans_a == Transpose::yes ? 'T' : 'N', s.trans_b == Transpose::yes ? 'T' : 'N',
                   static_cast<dnnl_dim_t>(s.m), static_cast<dnnl_dim_t>(s.n), static_cast<dnnl_dim_t>(s.k), 1.0f,
                   a.data(), static_cast<dnnl_dim_t>(lda), b.data(), static_cast<dnnl_dim_t>(ldb), 0.0f, c.data(),
                   static_cast<dnnl_dim_t>(s.n));
        break;
#endif
      default:
        bpnet::gemm_packed(isa_of(kernel), s, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), s.n, team.get());
    }
    benchmark::DoNotOptimize(c.data());
  }
  const double flops = 2.0 * static_cast<double>(s.m * s.n * s.k);
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

void BM_Gemm(benchmark::State& state) { time_gemm(state, false); }
void BM_GemmCold(benchmark::State& state) { time_gemm(state, true); }

// The name of the benchmarks' first argument, the Kernel numbers.
constexpr const char* kGemmKernelArg = "kernel(0 ref,1 openblas,2 plain,3 avx2,4 avx512,5 onednn)";

// (B, out, in) of each Linear layer in torch-seed and keras-seed and of the
// big networks' widest layer, and the three products each needs.
void GemmCases(benchmark::internal::Benchmark* b) {
  b->ArgNames({kGemmKernelArg, "threads", "product", "B", "out", "in"});
  std::vector<long> kernels = {kOpenBlas, kPackedPlain, kPackedAvx2, kPackedAvx512};
#ifdef BPNET_BENCH_ONEDNN
  kernels.push_back(kOneDnn);
#endif
  const std::vector<std::vector<long>> layers = {
      {128, 128, 784}, {128, 64, 128}, {128, 10, 64}, {64, 128, 784}, {128, 1000, 784}};
  for (const auto& layer : layers) {
    for (long product : {kForward, kInputGrad, kWeightGrad}) {
      b->Args({kReference, 1, product, layer[0], layer[1], layer[2]});
      for (long kernel : kernels) {
        for (long threads : {1, 2}) {
          if (kernel == kPackedPlain && threads == 2) continue;
          b->Args({kernel, threads, product, layer[0], layer[1], layer[2]});
        }
      }
    }
  }
}

BENCHMARK(BM_Gemm)->Name("gemm")->Apply(GemmCases);

// The big networks' widest layer with cold caches: bpnet's vector kernels,
// 1 and 2 threads (OpenBLAS's threads would fall asleep during the sweep and
// this would time their waking up). Against `gemm` at the same shape, what a
// product loses to operands that come from L3 or memory: what training sees
// (docs/performance.md).
void GemmColdCases(benchmark::internal::Benchmark* b) {
  b->ArgNames({kGemmKernelArg, "threads", "product", "B", "out", "in"});
  for (long product : {kForward, kInputGrad, kWeightGrad}) {
    for (long kernel : {kPackedAvx2, kPackedAvx512}) {
      for (long threads : {1, 2}) b->Args({kernel, threads, product, 128, 1000, 784});
    }
  }
}

BENCHMARK(BM_GemmCold)->Name("gemm_cold")->Apply(GemmColdCases)->UseRealTime();

// One image through a Linear layer (y = x W^T, W: (out, in)): the few-rows
// kernel in each instruction set this CPU runs (plain = the reference loops).
void BM_OneImage(benchmark::State& state) {
  const auto isa = static_cast<int>(state.range(0));
  const auto out = static_cast<std::size_t>(state.range(1));
  const auto in = static_cast<std::size_t>(state.range(2));
  bpnet::Rng rng(1);
  bpnet::AlignedVector<float> x(in), w(out * in), y(out);  // as the model stores them
  for (float& v : x) v = static_cast<float>(rng.uniform(-1, 1));
  for (float& v : w) v = static_cast<float>(rng.uniform(-1, 1));
  if (!bpnet::cpu_runs(static_cast<bpnet::Isa>(isa))) {
    state.SkipWithError("this CPU lacks the instruction set");
    return;
  }
  for (auto _ : state) {
    bpnet::gemm_small_rows_nt(static_cast<bpnet::Isa>(isa), 1, out, in, 1.0f, x.data(), in, w.data(), in,
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
    ->ArgsProduct({{0, 1, 2}, {10}, {64}})
    // the big networks' layers (500 x 1000, 2 MB, is where AVX-512 does not win)
    ->ArgsProduct({{0, 1, 2}, {500}, {1000}})
    ->ArgsProduct({{0, 1, 2}, {256}, {256}})
    ->ArgsProduct({{0, 1, 2}, {10}, {500}});

}  // namespace

int main(int argc, char** argv) {
#ifdef BPNET_BENCH_ONEDNN
  // OpenMP threads (oneDNN's) that spin after each call would slow down the
  // next benchmark's threads: they must sleep instead, which the OpenMP
  // runtime reads from the environment before main, so run again with it set.
  if (std::getenv("OMP_WAIT_POLICY") == nullptr) {
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execv("/proc/self/exe", argv);
  }
#endif
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
