// Which instruction set bpnet's own kernels (its GEMM, the few-rows product
// of one image) run on this machine: the widest the CPU has of AVX-512 and
// AVX2 with FMA, else portable loops ("plain"), chosen at run time. The
// environment variable BPNET_MAX_ISA (plain, avx2 or avx512) narrows the
// choice: to measure or check the AVX2 path on an AVX-512 machine. AVX2 and
// AVX-512 compute the same floats; plain, without FMA, does not. The
// element-wise loops that GCC compiles in several versions (the optimizer
// updates, the pixel conversion) pick theirs by the CPU alone. Evaluation
// computes a first Linear layer from the pixel bytes, skipping the zero
// pixels, where pixel 0 normalises to 0 and the CPU has AVX2 or AVX-512
// (the same floats as the dense product); BPNET_DENSE_PIXELS=1 turns that
// off, to measure the dense path.
#pragma once

#include <string>

namespace bpnet {

// "AVX-512", "AVX2" or "plain". Throws ConfigError (naming BPNET_MAX_ISA and
// its value) when BPNET_MAX_ISA is set to anything else; so does every
// product then.
std::string kernel_instruction_set();

}  // namespace bpnet
