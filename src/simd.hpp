// BPNET_VECTOR_LOOP marks a function made of simple loops: GCC compiles it
// for baseline x86-64, AVX2 and AVX-512, and picks the clone at load time
// (ifunc). The build itself stays runnable on any x86-64 CPU. Each clone
// gives the same floats: the loops are elementwise (no float sums whose
// order a vector width could change), and src/CMakeLists.txt compiles every
// file that starts a line with the macro without FMA contraction. On a CPU
// with 512-bit FMA units (Zen 5), Adam's update ran 2x faster in AVX-512
// (7.3 against 14.2 us for 50,000 weights, throwaway loop;
// docs/performance.md).
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define BPNET_VECTOR_LOOP __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define BPNET_VECTOR_LOOP
#endif
