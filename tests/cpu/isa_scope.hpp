// tests/cpu/isa_scope.hpp
// Runs a kernel test under each instruction set this CPU has: IsaScope sets one for a scope
// and restores the detected one after; isas_here() lists baseline, then AVX2 and AVX-512
// where present.
#pragma once

#include <vector>

#include "typenet/backend/cpu/simd.hpp"

namespace cpu_test {

struct IsaScope {
    typenet::cpu_kernels::simd::Isa saved = typenet::cpu_kernels::simd::active_isa();
    explicit IsaScope(typenet::cpu_kernels::simd::Isa isa) { typenet::cpu_kernels::simd::active_isa() = isa; }
    ~IsaScope() { typenet::cpu_kernels::simd::active_isa() = saved; }
};

inline std::vector<typenet::cpu_kernels::simd::Isa> isas_here() {
    namespace simd = typenet::cpu_kernels::simd;
    std::vector<simd::Isa> isas{simd::Isa::baseline};
    const simd::Isa best = simd::detect_isa();
    if (best == simd::Isa::avx2 || best == simd::Isa::avx512) isas.push_back(simd::Isa::avx2);
    if (best == simd::Isa::avx512) isas.push_back(simd::Isa::avx512);
    return isas;
}

}  // namespace cpu_test
