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

// A counter-based stream: value i is a pure function of (key, i), so a
// dropout mask drawn for (seed, step, layer) is the same whichever thread or
// worker draws it, in whatever order, and a resumed run redraws it exactly.
// Each value is SplitMix64's output at position i of a sequence whose
// starting point is the key.
class RandomStream {
 public:
  RandomStream() = default;
  // Distinct (seed, step, layer) triples give unrelated streams.
  RandomStream(std::uint64_t seed, std::uint64_t step, std::uint64_t layer);

  std::uint64_t bits(std::uint64_t i) const;
  // Uniform in [0, 1) with 24 random bits: exact in float.
  float uniform01f(std::uint64_t i) const { return static_cast<float>(bits(i) >> 40) * 0x1.0p-24f; }

 private:
  std::uint64_t key_ = 0;
};

}  // namespace bpnet
