// typenet/backend/cpu/parallel.hpp
// Threads on the CPU: OpenBLAS threads inside GEMM, an OpenMP loop over images or
// rows elsewhere, and never one inside the other (no oversubscription).
#pragma once

#include <cstddef>

#if defined(_OPENMP)
#include <omp.h>
#endif

extern "C" void openblas_set_num_threads(int num_threads);
extern "C" int openblas_get_num_threads(void);

namespace typenet {

// Run body(i) for i in [0, count), split across the CPU threads when the work
// (count * cost_per_item, in rough flops) is worth the fork.
template <class Body>
void parallel_for(std::size_t count, Body&& body, std::size_t cost_per_item = 1024) {
#if defined(_OPENMP)
    const bool worth_it = count > 1 && count * cost_per_item >= 32768 && omp_get_max_threads() > 1 &&
                          !omp_in_parallel();
#pragma omp parallel for schedule(static) if (worth_it)
    for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(count); ++i) body(static_cast<std::size_t>(i));
#else
    (void)cost_per_item;
    for (std::size_t i = 0; i < count; ++i) body(i);
#endif
}

// Number of CPU threads typenet uses (OpenMP loops and OpenBLAS GEMM alike).
inline int cpu_threads() {
#if defined(_OPENMP)
    return omp_get_max_threads();
#else
    return openblas_get_num_threads();
#endif
}

// Set the CPU thread count for both OpenBLAS and typenet's own loops.
inline void set_cpu_threads(int threads) {
    if (threads < 1) threads = 1;
    openblas_set_num_threads(threads);
#if defined(_OPENMP)
    omp_set_num_threads(threads);
#endif
}

}  // namespace typenet
