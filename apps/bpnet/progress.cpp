#include "progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace bpnet::cli {

bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

ProgressBar::ProgressBar(bool enabled) : enabled_(enabled) {}

void ProgressBar::start() {
  epoch_start_ = std::chrono::steady_clock::now();
  last_draw_ = {};
}

void ProgressBar::update(std::size_t done, std::size_t total, double loss, double accuracy) {
  if (!enabled_ || total == 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < total && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - epoch_start_).count();
  const double eta = done > 0 ? elapsed * static_cast<double>(total - done) / static_cast<double>(done) : 0;
  constexpr std::size_t kWidth = 30;
  const std::size_t filled = done * kWidth / total;
  std::string bar(filled, '=');
  if (filled < kWidth) bar += '>' + std::string(kWidth - filled - 1, '.');
  const int digits = static_cast<int>(fmt::formatted_size("{}", total));
  fmt::print("\r{:>{}}/{} [{}] {:.1f}s ETA {:.1f}s  loss {:.4f}  accuracy {:.4f}\x1b[K", done, digits,
             total, bar, elapsed, eta, loss, accuracy);
  std::fflush(stdout);
  drawn_ = true;
}

void ProgressBar::clear() {
  if (!drawn_) return;
  fmt::print("\r\x1b[K");
  drawn_ = false;
}

}  // namespace bpnet::cli
