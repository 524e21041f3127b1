// End-to-end speed of bpnet on MNIST, per preset: median seconds per epoch,
// training images/s, batched inference images/s, single-image latency, peak
// RSS, and achieved GFLOP/s as a fraction of this machine's measured FMA peak;
// then the effect of --threads 1/2 and --workers 0/1/2.
// Each configuration runs in its own child process, so its peak RSS is its own.
// Usage: e2e_bench [--data DIR] [--epochs N]   (N timed epochs after 1 warm-up)
#include <immintrin.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bpnet/evaluate.hpp"
#include "kernels/gemm.hpp"
#include "bpnet/predictor.hpp"
#include "bpnet/presets.hpp"
#include "bpnet/train.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// Peak FP32 FLOP/s of one core: independent FMA chains that never touch memory.
__attribute__((target("avx2,fma"))) double fma_loop_avx2(long iterations) {
  __m256 acc[10];
  for (auto& a : acc) a = _mm256_set1_ps(1.0f);
  const __m256 mul = _mm256_set1_ps(0.9999999f), add = _mm256_set1_ps(1e-7f);
  for (long i = 0; i < iterations; ++i) {
    for (auto& a : acc) a = _mm256_fmadd_ps(a, mul, add);
  }
  float out[8];
  __m256 sum = acc[0];
  for (int k = 1; k < 10; ++k) sum = _mm256_add_ps(sum, acc[k]);
  _mm256_storeu_ps(out, sum);
  return out[0];
}

__attribute__((target("avx512f"))) double fma_loop_avx512(long iterations) {
  __m512 acc[10];
  for (auto& a : acc) a = _mm512_set1_ps(1.0f);
  const __m512 mul = _mm512_set1_ps(0.9999999f), add = _mm512_set1_ps(1e-7f);
  for (long i = 0; i < iterations; ++i) {
    for (auto& a : acc) a = _mm512_fmadd_ps(a, mul, add);
  }
  float out[16];
  _mm512_storeu_ps(out, acc[0]);
  return out[0];
}

// FLOP/s of `threads` cores running the widest FMA loop the CPU has.
double measured_peak(int threads, bool& used_avx512) {
  used_avx512 = __builtin_cpu_supports("avx512f");
  constexpr long kIterations = 50'000'000;
  const double flops_per_iteration = 10.0 * (used_avx512 ? 16 : 8) * 2;
  std::vector<std::thread> pool;
  const auto start = Clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      volatile double sink = used_avx512 ? fma_loop_avx512(kIterations) : fma_loop_avx2(kIterations);
      (void)sink;
    });
  }
  for (auto& t : pool) t.join();
  return threads * flops_per_iteration * kIterations / seconds(start, Clock::now());
}

// Forward + backward + step work of one epoch: per image and Linear layer,
// 2*in*out for the forward product and for dW, and for dx except in layer 1.
double flops_per_epoch(const bpnet::Model<float>& model, std::size_t images) {
  double per_image = 0;
  bool first = true;
  for (std::size_t i = 0; i < model.depth(); ++i) {
    const bpnet::Layer<float>& layer = model.layer(i);
    if (layer.type() != "Linear") continue;
    const double mac = static_cast<double>(layer.in_features() * layer.out_features());
    per_image += 2 * mac * (first ? 2 : 3);
    first = false;
  }
  return per_image * static_cast<double>(images);
}

struct Result {
  double epoch_seconds = 0, train_images_per_s = 0, gflops = 0, infer_images_per_s = 0, latency_us = 0,
         accuracy = 0;
  long peak_rss_kb = 0;
};

Result measure(const std::string& data_dir, const std::string& preset_name, int threads, int workers,
               int timed_epochs) {
  bpnet::TrainConfig config = bpnet::preset(preset_name);
  config.threads = threads;
  config.workers = workers;
  config.epochs = static_cast<std::size_t>(timed_epochs) + 1;
  bpnet::Dataset train = bpnet::load_dataset(data_dir, bpnet::Split::train);
  const bpnet::Dataset test = bpnet::load_dataset(data_dir, bpnet::Split::test);
  const bpnet::Dataset validation = bpnet::split_off_tail(train, config.validation_split);
  bpnet::Trainer trainer(config, train, &validation);
  std::vector<double> epochs;
  while (!trainer.finished()) epochs.push_back(trainer.run_epoch()->seconds);
  epochs.erase(epochs.begin());  // warm-up
  Result r;
  r.epoch_seconds = median(epochs);
  r.train_images_per_s = static_cast<double>(train.count) / r.epoch_seconds;
  r.gflops = flops_per_epoch(trainer.model(), train.count) / r.epoch_seconds / 1e9;

  const bpnet::Model<float>& net = trainer.model();
  bpnet::Predictor predictor(net);
  std::vector<double> passes;
  for (int i = 0; i < 5; ++i) {
    const auto start = Clock::now();
    r.accuracy = bpnet::evaluate(net, test, 1000).accuracy;
    passes.push_back(seconds(start, Clock::now()));
  }
  r.infer_images_per_s = static_cast<double>(test.count) / median(passes);

  bpnet::Matrix<float> one(1, test.features());
  for (std::size_t j = 0; j < test.features(); ++j) one(0, j) = test.image(0)[j] / 255.0f;
  constexpr int kCalls = 20000;
  for (int i = 0; i < 1000; ++i) predictor.forward(one);  // warm-up
  const auto start = Clock::now();
  for (int i = 0; i < kCalls; ++i) predictor.forward(one);
  r.latency_us = seconds(start, Clock::now()) / kCalls * 1e6;
  return r;
}

// Runs measure() in a child process; its peak RSS comes from wait4().
Result measure_in_child(const std::string& data, const std::string& preset, int threads, int workers, int epochs) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) std::exit(1);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipe_fds[0]);
    const Result r = measure(data, preset, threads, workers, epochs);
    if (::write(pipe_fds[1], &r, sizeof r) != sizeof r) ::_exit(1);
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  Result r;
  const bool got = ::read(pipe_fds[0], &r, sizeof r) == sizeof r;
  ::close(pipe_fds[0]);
  int status = 0;
  struct rusage usage {};
  ::wait4(pid, &status, 0, &usage);
  if (!got || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "e2e_bench: measuring %s failed (is MNIST in %s?)\n", preset.c_str(), data.c_str());
    std::exit(1);
  }
  r.peak_rss_kb = usage.ru_maxrss;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data = "data/mnist";
  int epochs = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--data")) data = argv[i + 1];
    if (!std::strcmp(argv[i], "--epochs")) epochs = std::max(1, std::atoi(argv[i + 1]));
  }
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  bool avx512 = false;
  const double peak = measured_peak(cores, avx512) / 1e9;
  std::printf("machine: %d cores, measured FP32 FMA peak %.0f GFLOP/s (%s, register-only loop)\n", cores, peak,
              avx512 ? "AVX-512" : "AVX2");
  std::printf("%d timed epochs after 1 warm-up; medians\n\n", epochs);
  std::printf("%-11s %7s %7s | %9s %11s %8s %6s | %12s %10s %8s %8s\n", "preset", "threads", "workers", "s/epoch",
              "train img/s", "GFLOP/s", "%peak", "infer img/s", "1-image us", "RSS MB", "test acc");
  auto row = [&](const std::string& preset, int threads, int workers) {
    const Result r = measure_in_child(data, preset, threads, workers, epochs);
    std::printf("%-11s %7d %7d | %9.3f %11.0f %8.1f %5.1f%% | %12.0f %10.2f %8.1f %7.2f%%\n", preset.c_str(),
                threads, workers, r.epoch_seconds, r.train_images_per_s, r.gflops, 100 * r.gflops / peak,
                r.infer_images_per_s, r.latency_us, static_cast<double>(r.peak_rss_kb) / 1024, 100 * r.accuracy);
    std::fflush(stdout);
    return r;
  };
  for (const char* preset : {"torch-seed", "keras-seed"}) {
    const Result one = row(preset, 1, 0);
    const Result all = row(preset, cores, 0);
    std::printf("%-11s threads %d vs 1: %.2fx faster per epoch\n", preset, cores, one.epoch_seconds / all.epoch_seconds);
    for (int workers : {1, 2}) {
      const Result w = row(preset, cores, workers);
      std::printf("%-11s workers %d vs 0: %.2fx\n", preset, workers, all.epoch_seconds / w.epoch_seconds);
    }
  }
  return 0;
}
