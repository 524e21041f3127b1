// Explicit, seeded randomness. One small generator type is passed to
// initialisation, shuffling and sampling so that a run reproduces exactly on
// any compiler: std::uniform_*_distribution is implementation-defined, so the
// conversions to floats and ranges below are written out.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace bpnet {

// xoshiro256** seeded through splitmix64 (Blackman & Vigna).
class Rng {
 public:
  explicit Rng(std::uint64_t seed = 1);

  std::uint64_t next_u64();
  // Uniform in [0, 1) with 53 random bits.
  double uniform01();
  // Uniform in [low, high).
  double uniform(double low, double high);
  // Uniform integer in [0, bound), bound >= 1, without modulo bias.
  std::uint64_t below(std::uint64_t bound);
  // Fisher-Yates shuffle.
  void shuffle(std::span<std::uint32_t> values);

  // The whole generator state, for checkpoints.
  std::array<std::uint64_t, 4> state() const { return state_; }
  void set_state(const std::array<std::uint64_t, 4>& state) { state_ = state; }

 private:
  std::array<std::uint64_t, 4> state_;
};

}  // namespace bpnet
