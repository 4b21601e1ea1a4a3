// typenet/backend/cpu/blas.hpp
// Row-major SGEMM through xtensor-blas's cxxblas layer, which calls OpenBLAS.
// OpenBLAS runs single-threaded (parallel.hpp says why); a large product is split into
// one block of rows or columns per typenet thread, each an independent OpenBLAS call.
#pragma once

#include <algorithm>
#include <cstddef>

#include <complex>
#include <type_traits>

#include <xtensor-blas/xblas_config.hpp>
#include <xflens/cxxblas/cxxblas.cxx>

#include "typenet/backend/cpu/parallel.hpp"

namespace typenet::cpu_kernels {

// C[m x n] = alpha * op(A) * op(B) + beta * C on the calling thread alone.
inline void gemm_serial(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                        const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
                        std::size_t ldc) {
    if (m == 0 || n == 0) return;
    using index = int;
    cxxblas::gemm<index>(cxxblas::StorageOrder::RowMajor,
                         trans_a ? cxxblas::Transpose::Trans : cxxblas::Transpose::NoTrans,
                         trans_b ? cxxblas::Transpose::Trans : cxxblas::Transpose::NoTrans, static_cast<index>(m),
                         static_cast<index>(n), static_cast<index>(k), alpha, a, static_cast<index>(lda), b,
                         static_cast<index>(ldb), beta, c, static_cast<index>(ldc));
}

// C[m x n] = alpha * op(A) * op(B) + beta * C, all row-major, on all typenet threads.
inline void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                 const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
                 std::size_t ldc) {
    if (m == 0 || n == 0) return;
    const std::size_t threads = static_cast<std::size_t>(cpu_threads());
    // Below ~4 MFLOP a split costs more than it saves.
    if (threads < 2 || static_cast<double>(m) * n * std::max<std::size_t>(k, 1) < 2.0e6) {
        gemm_serial(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    // Split the longer side of C; column blocks stay multiples of 16 (one AVX-512 register).
    if (m >= n) {
        const std::size_t parts = std::min(threads, m);
        parallel_tasks(parts, [&](std::size_t part, unsigned) {
            const std::size_t r0 = m * part / parts, r1 = m * (part + 1) / parts;
            const float* a_part = trans_a ? a + r0 : a + r0 * lda;
            gemm_serial(trans_a, trans_b, r1 - r0, n, k, alpha, a_part, lda, b, ldb, beta, c + r0 * ldc, ldc);
        });
    } else {
        const std::size_t blocks = (n + 15) / 16;
        const std::size_t parts = std::min(threads, blocks);
        parallel_tasks(parts, [&](std::size_t part, unsigned) {
            const std::size_t c0 = std::min(n, blocks * part / parts * 16);
            const std::size_t c1 = std::min(n, blocks * (part + 1) / parts * 16);
            if (c1 <= c0) return;
            const float* b_part = trans_b ? b + c0 * ldb : b + c0;
            gemm_serial(trans_a, trans_b, m, c1 - c0, k, alpha, a, lda, b_part, ldb, beta, c + c0, ldc);
        });
    }
}

}  // namespace typenet::cpu_kernels
