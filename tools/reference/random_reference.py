#!/usr/bin/env python3
"""Known answers for bpnet's random generators, computed from their
definitions (SplitMix64 and xoshiro256** by Blackman & Vigna; the counter
stream of include/bpnet/random.hpp) in plain Python integers, not from
bpnet's code. tests/layers_test.cpp pastes the printed numbers. Run:
    python3 tools/reference/random_reference.py
"""
MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK


def xoshiro_outputs(seed, n):
    state, x = [], seed
    for _ in range(4):
        x = (x + GOLDEN) & MASK
        state.append(mix64(x))
    out = []
    for _ in range(n):
        s0, s1, s2, s3 = state
        out.append((rotl((s1 * 5) & MASK, 7) * 9) & MASK)
        t = (s1 << 17) & MASK
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        state = [s0, s1, s2, s3]
    return out


def stream_bits(seed, step, layer, n):
    key = mix64((mix64((mix64((seed + GOLDEN) & MASK) ^ step)) + layer * GOLDEN) & MASK)
    return [mix64((key + (i + 1) * GOLDEN) & MASK) for i in range(n)]


print("Rng(1):", ", ".join(f"0x{v:016x}ULL" for v in xoshiro_outputs(1, 3)))
print("RandomStream(7, 3, 2):", ", ".join(f"0x{v:016x}ULL" for v in stream_bits(7, 3, 2, 3)))
