// Internal: the instruction sets the hand-written kernels come in. The build
// targets baseline x86-64; each kernel is compiled for these with function
// attributes and the widest one the CPU runs is chosen at run time, unless
// BPNET_MAX_ISA narrows it (include/bpnet/cpu.hpp).
#pragma once

namespace bpnet {

// plain: portable loops (the reference, and what any x86-64 runs).
enum class Isa { plain, avx2, avx512 };

inline constexpr Isa kEveryIsa[] = {Isa::plain, Isa::avx2, Isa::avx512};

bool cpu_runs(Isa isa);

// "plain", "avx2", "avx512": BPNET_MAX_ISA's values.
const char* isa_name(Isa isa);

// The narrower of `cpu` and the instruction set `setting` names (one of
// isa_name's values); `cpu` for a null or empty setting. Throws ConfigError,
// naming BPNET_MAX_ISA and the value, for any other.
Isa capped_isa(Isa cpu, const char* setting);

// The widest instruction set this CPU runs, capped by BPNET_MAX_ISA (asked
// once; with a bad value every call throws ConfigError). Products ask it on
// the calling thread, before any work is handed to the kernel team.
Isa widest_isa();

}  // namespace bpnet
