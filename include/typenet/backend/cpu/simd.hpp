// typenet/backend/cpu/simd.hpp
// Sixteen floats as one value, and running a loop body compiled for the best
// instruction set this CPU has. The library is header-only and its users compile
// without -march, so hot loops are written once with GCC vector types and compiled
// three times (AVX-512, AVX2+FMA, baseline) through target attributes; the CPU is
// asked once which one to run. A body must be an always_inline lambda (TYPENET_SIMD
// marks it) and call only always_inline helpers, so it is compiled for the caller's
// instruction set.
#pragma once

#include <cstddef>
#include <cstring>
#include <stdexcept>

namespace typenet::cpu_kernels::simd {

inline constexpr std::size_t lanes = 16;

// Sixteen floats. Arithmetic uses GCC's vector operators (v * w + x, v + 2.0f,
// v > w ? v : w). No helper takes or returns one by value: GCC warns about that ABI
// in functions compiled without AVX-512, even when they are always inlined.
typedef float vfloat __attribute__((vector_size(64)));

#define TYPENET_SIMD __attribute__((always_inline))
#define TYPENET_SIMD_INLINE [[gnu::always_inline]] inline

// Unroll the next loop fully, so that arrays of vectors stay in registers. nvcc's
// front end, which also reads these headers (as host code), does not know the pragma.
#define TYPENET_PRAGMA(text) _Pragma(#text)
#if defined(__GNUC__) && !defined(__CUDACC__)
#define TYPENET_UNROLL(n) TYPENET_PRAGMA(GCC unroll n)
#else
#define TYPENET_UNROLL(n)
#endif

// Loads and stores go through memcpy: any alignment, no aliasing question.
TYPENET_SIMD_INLINE void load(vfloat& v, const float* p) { std::memcpy(&v, p, sizeof v); }
TYPENET_SIMD_INLINE void store(float* p, const vfloat& v) { std::memcpy(p, &v, sizeof v); }
// The first `count` (< 16) floats; the other lanes are zero.
TYPENET_SIMD_INLINE void load_part(vfloat& v, const float* p, std::size_t count) {
    v = vfloat{};
    std::memcpy(&v, p, count * sizeof(float));
}
TYPENET_SIMD_INLINE void store_part(float* p, const vfloat& v, std::size_t count) {
    std::memcpy(p, &v, count * sizeof(float));
}
// `count` (<= 16) floats: a whole vector when count is 16, else the first count lanes.
TYPENET_SIMD_INLINE void load_n(vfloat& v, const float* p, std::size_t count) {
    if (count == lanes)
        load(v, p);
    else
        load_part(v, p, count);
}
TYPENET_SIMD_INLINE void store_n(float* p, const vfloat& v, std::size_t count) {
    if (count == lanes)
        store(p, v);
    else
        store_part(p, v, count);
}

enum class Isa { baseline, avx2, avx512 };

inline Isa detect_isa() {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl"))
        return Isa::avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::avx2;
#endif
    return Isa::baseline;
}

// The instruction set bodies run with. Tests may lower it to check the other builds.
inline Isa& active_isa() {
    static Isa isa = detect_isa();
    return isa;
}

#if defined(__x86_64__) && defined(__GNUC__)
template <class Body>
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"))) void run_avx512(Body& body) {
    body();
}
template <class Body>
__attribute__((target("avx2,fma"))) void run_avx2(Body& body) {
    body();
}
#endif

// Which builds of a body run() compiles. A register-blocked kernel is shaped for one
// register file: its caller picks the AVX-512 shape (32 registers of 16 floats) only when
// active_isa() is avx512 and a smaller shape otherwise, so compiling each shape for the
// other instruction sets would only cost compile time (it was more than half of the SIMD
// code in a user's translation unit; docs/performance.md, "Compile time").
//   all           AVX-512, AVX2+FMA and the baseline; the active one runs
//   avx512_only   AVX-512 alone; the caller runs it only when active_isa() is avx512
//   below_avx512  AVX2+FMA and the baseline (under AVX-512, the AVX2 build runs)
enum class Builds { all, avx512_only, below_avx512 };

// Runs body() compiled for the active instruction set.
template <Builds Needed = Builds::all, class Body>
void run(Body&& body) {
    if constexpr (Needed == Builds::avx512_only) {
        if (active_isa() != Isa::avx512)  // the caller's choice of shape and this must agree
            throw std::logic_error("typenet: a kernel shaped for AVX-512 was called without AVX-512");
#if defined(__x86_64__) && defined(__GNUC__)
        run_avx512(body);
#endif
    } else {
#if defined(__x86_64__) && defined(__GNUC__)
        const Isa isa = active_isa();
        if constexpr (Needed == Builds::all) {
            if (isa == Isa::avx512) {
                run_avx512(body);
                return;
            }
        }
        if (isa != Isa::baseline) {  // AVX2, or AVX-512 for a body built below it
            run_avx2(body);
            return;
        }
#endif
        body();
    }
}

}  // namespace typenet::cpu_kernels::simd
