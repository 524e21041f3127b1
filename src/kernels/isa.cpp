#include "isa.hpp"

#include <initializer_list>

namespace bpnet {

bool cpu_runs(Isa isa) {
  switch (isa) {
    case Isa::avx512: return __builtin_cpu_supports("avx512f");
    case Isa::avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::plain: return true;
  }
  return false;
}

Isa widest_isa() {
  // Asked at the first call, not in a static initialiser (where
  // __builtin_cpu_supports may not be ready yet), then kept.
  static const Isa widest = [] {
    for (const Isa isa : {Isa::avx512, Isa::avx2}) {
      if (cpu_runs(isa)) return isa;
    }
    return Isa::plain;
  }();
  return widest;
}

}  // namespace bpnet
