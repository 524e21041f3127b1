// BPNET_VECTOR_LOOP marks a function made of simple loops: GCC compiles it
// twice, for baseline x86-64 and for AVX2, and picks the clone at load time
// (ifunc). The build itself stays runnable on any x86-64 CPU.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define BPNET_VECTOR_LOOP __attribute__((target_clones("avx2", "default")))
#else
#define BPNET_VECTOR_LOOP
#endif
