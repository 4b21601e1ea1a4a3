// typenet/backend/cuda/blas.cuh
// Row-major SGEMM through cuBLAS (column-major): a row-major C = op(A) op(B) is the
// column-major C^T = op(B)^T op(A)^T, so the operands swap places and nothing is copied.
#pragma once

#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>

#include <cublas_v2.h>

#include "typenet/backend/cuda/check.cuh"
#include "typenet/backend/cuda/context.cuh"

namespace typenet::cuda_kernels {

namespace detail {
inline int blas_int(std::size_t value, const char* what) {
    if (value > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        throw std::length_error(std::string("typenet cuda: gemm ") + what + " = " + std::to_string(value) +
                                " is beyond cuBLAS's int range: use a smaller batch");
    return static_cast<int>(value);
}
}  // namespace detail

// C[m x n] = alpha * op(A) * op(B) + beta * C, all row-major, device pointers.
inline void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                 const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
                 std::size_t ldc) {
    if (m == 0 || n == 0) return;
    const cublasStatus_t status =
        cublasSgemm(cuda_context().blas(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                    detail::blas_int(n, "n"), detail::blas_int(m, "m"), detail::blas_int(k, "k"), &alpha, b,
                    detail::blas_int(ldb, "ldb"), a, detail::blas_int(lda, "lda"), &beta, c,
                    detail::blas_int(ldc, "ldc"));
    if (status != CUBLAS_STATUS_SUCCESS)
        check_cublas(status, "cublasSgemm (m " + std::to_string(m) + ", n " + std::to_string(n) + ", k " +
                                 std::to_string(k) + ")");
}

}  // namespace typenet::cuda_kernels
