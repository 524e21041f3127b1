#include "isa.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <initializer_list>
#include <string_view>

#include "bpnet/cpu.hpp"
#include "bpnet/error.hpp"

namespace bpnet {

bool cpu_runs(Isa isa) {
  switch (isa) {
    case Isa::avx512: return __builtin_cpu_supports("avx512f");
    case Isa::avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::plain: return true;
  }
  return false;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    case Isa::plain: return "plain";
  }
  return "plain";
}

Isa capped_isa(Isa cpu, const char* setting) {
  if (setting == nullptr || *setting == '\0') return cpu;
  for (const Isa isa : kEveryIsa) {
    if (std::string_view(setting) == isa_name(isa)) return std::min(cpu, isa);
  }
  throw ConfigError(fmt::format("BPNET_MAX_ISA is '{}'; it must be plain, avx2 or avx512 (or unset: the widest this "
                                "CPU runs)",
                                setting));
}

Isa widest_isa() {
  // Asked at the first call, not in a static initialiser (where
  // __builtin_cpu_supports may not be ready yet), then kept.
  static const Isa widest = [] {
    Isa cpu = Isa::plain;
    for (const Isa isa : {Isa::avx512, Isa::avx2}) {
      if (cpu_runs(isa)) {
        cpu = isa;
        break;
      }
    }
    return capped_isa(cpu, std::getenv("BPNET_MAX_ISA"));
  }();
  return widest;
}

std::string kernel_instruction_set() {
  switch (widest_isa()) {
    case Isa::avx512: return "AVX-512";
    case Isa::avx2: return "AVX2";
    case Isa::plain: return "plain";
  }
  return "plain";
}

}  // namespace bpnet
