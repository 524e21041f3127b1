// End-to-end speed of bpnet on MNIST against the machine itself: for the two
// presets and the big networks of the accuracy issue, median seconds per
// epoch, training images/s and GFLOP/s as a fraction of this machine's FMA
// peak (measured by the same binary between rounds), batched inference,
// single-image latency; then the effect of --threads, --shards and --workers.
//
// This project's machines are shared VMs whose speed drifts by tens of per
// cent within minutes, so the configurations of one network take turns, an
// epoch each, in one child process (its peak RSS is reported), and the peak
// is measured before every round: a ratio is never taken between runs made
// minutes apart. Batched inference is set beside a peak measured between
// its own passes.
// Usage: e2e_bench [--data DIR] [--epochs N] [--big]
//   N timed rounds after 1 warm-up; --big adds 784-1000-500-10 and
//   784-2500-2000-1500-1000-500-10, timed on 6,400 training images per round.
//        e2e_bench --infer MODEL [--data DIR]
//   batched inference of the test set (batches of 1000, all cores) and one
//   image, for a saved model: what bench/compare_pytorch.sh sets beside
//   ONNX Runtime on the same weights.
//        e2e_bench --peak
//   the measured FMA peak and the presets' FLOP per image, by which
//   bench/compare_pytorch.sh turns every speed into a fraction of the peak.
// BPNET_MAX_ISA=avx2 measures the AVX2 kernels (and the AVX2 peak) on an
// AVX-512 machine. Where evaluation skips the zero pixels (sparse images
// such as MNIST's: both presets), batched inference is timed both ways,
// the passes taking turns: the dense path (BPNET_DENSE_PIXELS=1), whose
// share of the peak is the kernels' efficiency, and the default one, which
// does fewer FLOP than it is credited with: its share of the peak is that
// of the dense FLOP, marked so. Training skips the background pixels too
// (its first layer's forward and weight gradient; keras-seed's zeros with
// the same floats, torch-seed's -1 taken out of x): both presets also train
// with the dense products (a row marked so, its epochs taking turns with the
// others'), and their other rows' GFLOP/s count the dense FLOP.
#include <CLI/CLI.hpp>
#include <immintrin.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "bpnet/cpu.hpp"
#include "bpnet/evaluate.hpp"
#include "bpnet/model_file.hpp"
#include "bpnet/preprocess.hpp"
#include "bpnet/predictor.hpp"
#include "bpnet/presets.hpp"
#include "bpnet/train.hpp"
#include "kernels/kernel_threads.hpp"
#include "one_line_errors.hpp"
#include "pixel_first_layer.hpp"

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
  // Every chain feeds the result: a chain whose value is unused is dead code
  // to the compiler, and a loop of one chain runs at the FMA's latency.
  __m512 sum = acc[0];
  for (int k = 1; k < 10; ++k) sum = _mm512_add_ps(sum, acc[k]);
  float out[16];
  _mm512_storeu_ps(out, sum);
  return out[0];
}

// The peak is that of the instruction set bpnet's kernels run (AVX-512, or
// AVX2 where the CPU or BPNET_MAX_ISA stops there): the fraction of the peak
// is then the kernels' own.
bool peak_loop_is_avx512() { return bpnet::kernel_instruction_set() == "AVX-512"; }

// FLOP/s of all cores running that FMA loop, on the kernel threads themselves: loops on threads of their own, started for the
// purpose, left the team's threads on the wrong cores for a while (the
// batched inference right after them measured 555,000-744,000 images/s
// against 753,000-828,000 with no loop before it, and 739,000-816,000 after
// the same loop on the team; 5 runs each).
double measured_peak() {
  const bool avx512 = peak_loop_is_avx512();
  bpnet::set_kernel_threads(0);
  const int threads = bpnet::kernel_threads();
  constexpr long kIterations = 20'000'000;
  const double flops_per_iteration = 10.0 * (avx512 ? 16 : 8) * 2;
  const auto start = Clock::now();
  // One loop a thread: a piece of one.
  bpnet::for_each_piece(static_cast<std::size_t>(threads), 1, 0, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      volatile double sink = avx512 ? fma_loop_avx512(kIterations) : fma_loop_avx2(kIterations);
      (void)sink;
    }
  });
  return threads * flops_per_iteration * kIterations / seconds(start, Clock::now());
}

// Multiply-adds of one image through the Linear layers (each is 2 FLOPs).
double macs_per_image(const bpnet::Model<float>& model, bool skip_first_dx, double products_per_layer) {
  double total = 0;
  bool first = true;
  for (std::size_t i = 0; i < model.depth(); ++i) {
    const bpnet::Layer<float>& layer = model.layer(i);
    if (layer.type() != "Linear") continue;
    const double mac = static_cast<double>(layer.in_features() * layer.out_features());
    total += mac * (first && skip_first_dx ? products_per_layer - 1 : products_per_layer);
    first = false;
  }
  return total;
}

// Forward + backward work of one epoch: per image and Linear layer, 2*in*out
// for the forward product and for dW, and for dx except in layer 1.
double flops_per_epoch(const bpnet::Model<float>& model, std::size_t images) {
  return 2 * macs_per_image(model, true, 3) * static_cast<double>(images);
}

double forward_flops_per_image(const bpnet::Model<float>& model) { return 2 * macs_per_image(model, false, 1); }

struct Setup {
  int threads = 1, shards = 1, workers = 0;
  bool dense = false;  // its epochs under BPNET_DENSE_PIXELS=1: no zero input skipped
};

// BPNET_DENSE_PIXELS=1 while it lives, if `dense`: no zero input skipped.
class DenseProducts {
 public:
  explicit DenseProducts(bool dense) : dense_(dense) {
    if (dense_) ::setenv("BPNET_DENSE_PIXELS", "1", 1);
  }
  ~DenseProducts() {
    if (dense_) ::unsetenv("BPNET_DENSE_PIXELS");
  }
  DenseProducts(const DenseProducts&) = delete;
  DenseProducts& operator=(const DenseProducts&) = delete;

 private:
  bool dense_;
};

// The peaks measured before each round (or pass): the lowest and highest.
struct PeakRange {
  double low = 0, high = 0;
};

PeakRange range_of(const std::vector<double>& peaks) {
  const auto [low, high] = std::minmax_element(peaks.begin(), peaks.end());
  return {*low, *high};
}

struct Result {
  double epoch_seconds = 0, train_images_per_s = 0, gflops = 0, peak_gflops = 0;
  PeakRange peaks;
};

struct Inference {
  double images_per_s = 0, accuracy = 0, forward_flops = 0, peak_gflops = 0;
  PeakRange peaks;
  double dense_images_per_s = 0;  // with the zero pixels not skipped; 0 where nothing is skipped
  double latency_us = 0;        // one image after another, all cores
  double latency_alone_us = 0;  // the same on one kernel thread
};

struct CaseResult {
  std::vector<Result> setups;
  Inference inference;
  long peak_rss_kb = 0;
};

struct Case {
  std::string name;
  bpnet::TrainConfig config;
  std::size_t train_images = 0;  // 0: the whole training set
  std::vector<Setup> setups;
};

bpnet::TrainConfig mlp(std::vector<std::size_t> sizes) {
  bpnet::TrainConfig config = bpnet::preset("torch-seed");
  bpnet::LayerShorthand shorthand;
  shorthand.sizes = std::move(sizes);
  config.model = bpnet::expand(shorthand, config.model.loss, config.model.normalize);
  return config;
}

// One image at a time, each a different test image (as a server sees
// them), preprocessed as the model was trained: the first 2,000 images, one
// after another; median of 5 runs, after warm-up, in microseconds.
double one_image_latency(const bpnet::Model<float>& net, const bpnet::Dataset& test) {
  bpnet::Predictor predictor(net);
  constexpr std::size_t kCalls = 2000;
  const std::size_t images = std::min(kCalls, test.count);
  bpnet::Matrix<float> x(images, test.features());
  std::vector<std::uint32_t> first(images);
  std::iota(first.begin(), first.end(), 0u);
  std::vector<std::uint8_t> labels(images);
  bpnet::gather_batch(test, first, bpnet::pixel_scale(net.spec().normalize), x, labels);
  auto one = [&](std::size_t i) { return bpnet::ConstMatrixView<float>{x.data() + i * x.cols(), 1, x.cols()}; };
  for (std::size_t i = 0; i < 200; ++i) predictor.forward(one(i % images));  // warm-up
  std::vector<double> calls;
  for (int rep = 0; rep < 5; ++rep) {
    const auto start = Clock::now();
    for (std::size_t i = 0; i < kCalls; ++i) predictor.forward(one(i % images));
    calls.push_back(seconds(start, Clock::now()) / kCalls * 1e6);
  }
  return median(calls);
}

// Batched inference of the test set (median of 5 passes, the peak measured
// before each: the training rounds' peak is minutes old by then, and once
// put inference at 107% of it) and the latency of one image on all cores
// and on one.
Inference measure_inference(const bpnet::Model<float>& net, const bpnet::Dataset& test) {
  // All cores, whatever the last trainer set (a sharded one sets one kernel thread).
  bpnet::set_kernel_threads(0);
  Inference r;
  r.forward_flops = forward_flops_per_image(net);
  const bool skips = bpnet::PixelFirstLayer::for_data(net, net.loss_depth(), test) != nullptr;
  std::vector<double> passes, dense_passes, peaks;
  auto pass = [&](std::vector<double>& into) {
    const auto start = Clock::now();
    r.accuracy = bpnet::evaluate(net, test, 1000).accuracy;
    into.push_back(seconds(start, Clock::now()));
  };
  for (int i = 0; i < 5; ++i) {
    peaks.push_back(measured_peak() / 1e9);
    pass(passes);
    if (skips) {
      const DenseProducts dense(true);
      pass(dense_passes);
    }
  }
  r.images_per_s = static_cast<double>(test.count) / median(passes);
  if (skips) r.dense_images_per_s = static_cast<double>(test.count) / median(dense_passes);
  r.peak_gflops = median(peaks);
  r.peaks = range_of(peaks);

  r.latency_us = one_image_latency(net, test);
  bpnet::set_kernel_threads(1);
  r.latency_alone_us = one_image_latency(net, test);
  bpnet::set_kernel_threads(0);
  return r;
}

// Every setup trains its own model; they take turns, one epoch each.
CaseResult measure(const std::string& data_dir, const Case& c, int timed_epochs) {
  bpnet::Dataset train = bpnet::load_dataset(data_dir, bpnet::Split::train);
  const bpnet::Dataset test = bpnet::load_dataset(data_dir, bpnet::Split::test);
  const bpnet::Dataset validation = bpnet::split_off_tail(train, c.config.validation_split);
  const bpnet::Dataset unused =
      c.train_images ? bpnet::split_off_tail(train, 1.0 - static_cast<double>(c.train_images) / static_cast<double>(train.count))
                     : bpnet::Dataset{};
  std::vector<std::unique_ptr<bpnet::Trainer>> trainers;
  for (const Setup& s : c.setups) {
    bpnet::TrainConfig config = c.config;
    config.threads = s.threads;
    config.shards = static_cast<std::size_t>(s.shards);
    config.workers = s.workers;
    config.validation_split = 0;
    config.epochs = static_cast<std::size_t>(timed_epochs) + 1;
    trainers.push_back(std::make_unique<bpnet::Trainer>(config, train));
  }
  std::vector<std::vector<double>> epochs(trainers.size());
  std::vector<double> peaks;
  for (int round = 0; round <= timed_epochs; ++round) {
    peaks.push_back(measured_peak() / 1e9);
    for (std::size_t i = 0; i < trainers.size(); ++i) {
      const DenseProducts dense(c.setups[i].dense);
      epochs[i].push_back(trainers[i]->run_epoch()->seconds);
    }
  }
  CaseResult r;
  const double peak = median(peaks);
  for (std::size_t i = 0; i < trainers.size(); ++i) {
    epochs[i].erase(epochs[i].begin());  // warm-up
    Result s;
    s.epoch_seconds = median(epochs[i]);
    s.train_images_per_s = static_cast<double>(train.count) / s.epoch_seconds;
    s.gflops = flops_per_epoch(trainers[i]->model(), train.count) / s.epoch_seconds / 1e9;
    s.peak_gflops = peak;
    s.peaks = range_of(peaks);
    r.setups.push_back(s);
  }

  r.inference = measure_inference(trainers.back()->model(), test);
  return r;
}

// Runs measure() in a child process; its peak RSS comes from wait4().
CaseResult measure_in_child(const std::string& data, const Case& c, int epochs) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) std::exit(1);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipe_fds[0]);
    CaseResult r;
    try {
      r = measure(data, c, epochs);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "e2e_bench: %s\n", e.what());
      ::_exit(1);
    }
    const std::size_t n = r.setups.size();
    const bool ok = ::write(pipe_fds[1], &r.inference, sizeof(Inference)) == sizeof(Inference) &&
                    ::write(pipe_fds[1], r.setups.data(), n * sizeof(Result)) == static_cast<ssize_t>(n * sizeof(Result));
    ::_exit(ok ? 0 : 1);
  }
  ::close(pipe_fds[1]);
  CaseResult r;
  r.setups.resize(c.setups.size());
  const std::size_t n = r.setups.size();
  const bool got = ::read(pipe_fds[0], &r.inference, sizeof(Inference)) == sizeof(Inference) &&
                   ::read(pipe_fds[0], r.setups.data(), n * sizeof(Result)) == static_cast<ssize_t>(n * sizeof(Result));
  ::close(pipe_fds[0]);
  int status = 0;
  struct rusage usage {};
  ::wait4(pid, &status, 0, &usage);
  if (!got || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "e2e_bench: measuring %s failed (is MNIST in %s?)\n", c.name.c_str(), data.c_str());
    std::exit(1);
  }
  r.peak_rss_kb = usage.ru_maxrss;
  return r;
}

// Appended to a share of the peak: empty, or what a share over 100% means:
// the FMA loop was slowed while it measured (another guest of this VM's host
// on the core), not a kernel faster than the machine.
const char* unbelievable(double share_percent) {
  return share_percent > 100 ? "; over the peak: the peak loop was slowed, not to be trusted" : "";
}

// The default path's batched inference where it skips the zero pixels: its
// speed, against the dense path's, and the share of the peak the dense FLOP
// would be at that speed (work not done is counted as done: a speed, not an
// efficiency, which may pass 100%).
void print_skipping(const std::string& name, const Inference& inference) {
  const double dense_flop_share =
      100 * inference.images_per_s * inference.forward_flops / 1e9 / inference.peak_gflops;
  std::printf("%-13s inference, zero pixels skipped (the default): %.0f img/s, %.2fx the dense path above "
              "(the dense FLOP at that speed: %.1f%% of the peak)\n",
              name.c_str(), inference.images_per_s, inference.images_per_s / inference.dense_images_per_s,
              dense_flop_share);
}

// A line after the figures whose reference moved: on a shared VM the peak
// loop read 172-335 GFLOP/s within one run (an Intel Xeon guest), and a
// share of the median peak is then only as good as that range.
void warn_if_peak_moved(const std::string& name, const char* when, const PeakRange& peaks) {
  constexpr double kSteady = 1.15;
  if (peaks.high <= kSteady * peaks.low) return;
  std::printf("%-13s the peak moved %.0f-%.0f GFLOP/s across %s: its shares above are uncertain by as much\n",
              name.c_str(), peaks.low, peaks.high, when);
}

void report(const Case& c, const CaseResult& r) {
  const bool trains_both_ways = std::any_of(c.setups.begin(), c.setups.end(), [](const Setup& s) { return s.dense; });
  for (std::size_t i = 0; i < c.setups.size(); ++i) {
    const Setup& s = c.setups[i];
    const Result& x = r.setups[i];
    const double share = 100 * x.gflops / x.peak_gflops;
    // Where the zeros were skipped the share is the dense FLOP's: a speed, which may pass 100%.
    const char* note =
        s.dense ? "  dense products (BPNET_DENSE_PIXELS=1)" : trains_both_ways ? "  (dense FLOP)" : unbelievable(share);
    std::printf("%-13s %7d %6d %7d | %9.3f %11.0f %8.1f %5.1f%% of %4.0f%s%s\n", c.name.c_str(), s.threads, s.shards,
                s.workers, x.epoch_seconds, x.train_images_per_s, x.gflops, share, x.peak_gflops,
                s.dense ? unbelievable(share) : "", note);
  }
  if (!r.setups.empty()) warn_if_peak_moved(c.name, "the training rounds", r.setups.front().peaks);
  auto find = [&](int threads, int shards, int workers, bool dense = false) -> const Result* {
    for (std::size_t i = 0; i < c.setups.size(); ++i) {
      const Setup& s = c.setups[i];
      if (s.threads == threads && s.shards == shards && s.workers == workers && s.dense == dense) return &r.setups[i];
    }
    return nullptr;
  };
  auto ratio = [&](const char* what, const Result* a, const Result* b) {
    if (a && b) std::printf("%-13s %s: %.2fx\n", c.name.c_str(), what, b->epoch_seconds / a->epoch_seconds);
  };
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  ratio("2 threads vs 1 thread (1 shard each)", find(cores, 1, 0), find(1, 1, 0));
  ratio("2 threads (2 shards) vs 1 thread, 1 shard", find(cores, cores, 0), find(1, 1, 0));
  ratio("2 shards vs 1 shard (2 threads; 1 shard = the GEMM split over the kernel threads)", find(cores, cores, 0), find(cores, 1, 0));
  ratio("workers 1 vs 0", find(cores, cores, 1), find(cores, cores, 0));
  ratio("workers 2 vs 0", find(cores, cores, 2), find(cores, cores, 0));
  ratio("background pixels skipped vs the dense products (the rows above count the dense FLOP)", find(cores, 1, 0),
        find(cores, 1, 0, true));
  const Inference& inference = r.inference;
  const bool skips = inference.dense_images_per_s > 0;
  const double dense = skips ? inference.dense_images_per_s : inference.images_per_s;
  const double share = 100 * dense * inference.forward_flops / 1e9 / inference.peak_gflops;
  std::printf("%-13s inference: %.0f img/s (%.1f%% of %.0f%s), one image %.2f us (one thread %.2f), test accuracy %.2f%%, "
              "peak RSS %.0f MB\n",
              c.name.c_str(), dense, share, inference.peak_gflops, unbelievable(share), inference.latency_us,
              inference.latency_alone_us, 100 * inference.accuracy, static_cast<double>(r.peak_rss_kb) / 1024);
  if (skips) print_skipping(c.name, inference);
  warn_if_peak_moved(c.name, "the inference passes", inference.peaks);
  std::printf("\n");
  std::fflush(stdout);
}

int run(int argc, char** argv) {
  std::string data = "data/mnist", infer_model;
  int epochs = 3;
  bool big = false;
  // A mistyped flag stops here, before minutes of timing, not after.
  CLI::App cli{"bpnet end to end against this machine's measured FMA peak"};
  cli.add_option("--data", data, "Folder of the MNIST IDX files")->check(CLI::ExistingDirectory);
  cli.add_option("--epochs", epochs, "Timed rounds after one warm-up, >= 1")->check(CLI::Range(1, 1000));
  cli.add_flag("--big", big, "Also 784-1000-500-10 and 784-2500-2000-1500-1000-500-10 (6,400 images a round)");
  cli.add_option("--infer", infer_model, "Only batched inference and one image, for this saved model")
      ->check(CLI::ExistingFile);
  bool peak_only = false;
  cli.add_flag("--peak", peak_only,
               "Only the measured peak and the presets' FLOP per image (what compare_pytorch.sh divides by)");
  CLI11_PARSE(cli, argc, argv);
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  if (!infer_model.empty()) {
    const bpnet::Dataset test = bpnet::load_dataset(data, bpnet::Split::test);
    const Inference r = measure_inference(*bpnet::load_model(infer_model), test);
    std::printf("bpnet inference: %.0f images/s (batches of 1000, %d threads), one image %.2f us (one thread %.2f), "
                "accuracy %.2f%%\n",
                r.images_per_s, cores, r.latency_us, r.latency_alone_us, 100 * r.accuracy);
    if (r.dense_images_per_s > 0) {
      std::printf("bpnet inference with the zero pixels skipped, as above; the dense path: %.0f img/s (%.2fx)\n",
                  r.dense_images_per_s, r.images_per_s / r.dense_images_per_s);
    }
    return 0;
  }
  if (peak_only) {
    std::printf("peak %.1f GFLOP/s (%d cores)\n", measured_peak() / 1e9, cores);
    for (const char* name : {"torch-seed", "keras-seed"}) {
      const bpnet::Model<float> model(bpnet::preset(name).model);
      std::printf("%s FLOP per image: training %.0f, forward %.0f\n", name, flops_per_epoch(model, 1),
                  forward_flops_per_image(model));
    }
    return 0;
  }
  // The data is read before the peak is measured, so that a wrong folder
  // stops the run at once with the loader's one-line error.
  bpnet::load_dataset(data, bpnet::Split::test);
  const double peak = measured_peak() / 1e9;
  std::printf("machine: %d cores, measured FP32 FMA peak %.0f GFLOP/s at the start (%s, register-only loop; "
              "measured again before every round, the median of those is each row's reference); bpnet's kernels: "
              "%s\n",
              cores, peak, peak_loop_is_avx512() ? "AVX-512" : "AVX2", bpnet::kernel_instruction_set().c_str());
  std::printf("%d timed rounds after 1 warm-up, setups taking turns; medians\n\n", epochs);
  std::printf("%-13s %7s %6s %7s | %9s %11s %8s %s\n", "network", "threads", "shards", "workers", "s/epoch",
              "train img/s", "GFLOP/s", "%peak");
  // The presets' background pixels are skipped in training: the last setup trains with the dense products.
  const std::vector<Setup> setups{{1, 1, 0},     {cores, 1, 0}, {cores, cores, 0},
                                  {cores, cores, 1}, {cores, cores, 2}, {cores, 1, 0, true}};
  std::vector<Case> cases{{"torch-seed", bpnet::preset("torch-seed"), 0, setups},
                          {"keras-seed", bpnet::preset("keras-seed"), 0, setups}};
  if (big) {
    const std::vector<Setup> few{{1, 1, 0}, {cores, 1, 0}, {cores, cores, 0}};
    cases.push_back({"784-1000-500", mlp({784, 1000, 500, 10}), 6400, few});
    cases.push_back({"784-2500..500", mlp({784, 2500, 2000, 1500, 1000, 500, 10}), 6400, few});
  }
  for (const Case& c : cases) report(c, measure_in_child(data, c, epochs));
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_with_one_line_errors("e2e_bench", run, argc, argv); }
