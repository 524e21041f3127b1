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
  for (const Isa isa : {Isa::avx512, Isa::avx2}) {
    if (cpu_runs(isa)) return isa;
  }
  return Isa::plain;
}

}  // namespace bpnet
