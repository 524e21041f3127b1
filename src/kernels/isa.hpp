// Internal: the instruction sets the hand-written kernels come in. The build
// targets baseline x86-64; each kernel is compiled for these with function
// attributes and the widest one the CPU runs is chosen at run time.
#pragma once

namespace bpnet {

// plain: portable loops (the reference, and what any x86-64 runs).
enum class Isa { plain, avx2, avx512 };

inline constexpr Isa kEveryIsa[] = {Isa::plain, Isa::avx2, Isa::avx512};

bool cpu_runs(Isa isa);
// The widest instruction set this CPU runs (asked once).
Isa widest_isa();

}  // namespace bpnet
