// typenet/backend/cuda/check.cuh
// CUDA and cuBLAS errors as exceptions that say which typenet operation failed and
// what the runtime reported. Kernel launches are checked without a host sync (a
// fault inside a kernel surfaces at the next synchronising call, which names itself).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include <cublas_v2.h>
#include <cuda_runtime.h>

namespace typenet::cuda_kernels {

class CudaError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

inline void check_cuda(cudaError_t status, std::string_view what) {
    if (status == cudaSuccess) return;
    throw CudaError("typenet cuda: " + std::string(what) + " failed: " + cudaGetErrorName(status) + " (" +
                    cudaGetErrorString(status) + ")");
}

inline std::string_view cublas_status_name(cublasStatus_t status) {
    switch (status) {
        case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
        case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
        case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
        case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
        case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
        case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
        case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
        case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
        default: return "cuBLAS error";
    }
}

inline void check_cublas(cublasStatus_t status, std::string_view what) {
    if (status == CUBLAS_STATUS_SUCCESS) return;
    throw CudaError("typenet cuda: " + std::string(what) + " failed: " + std::string(cublas_status_name(status)) +
                    " (" + std::to_string(static_cast<int>(status)) + ")");
}

// After a <<<...>>> launch: a bad configuration is reported here, at once.
// Messages are built only on failure: a step must not allocate host memory either.
inline void check_launch(std::string_view kernel) {
    const cudaError_t status = cudaGetLastError();
    if (status != cudaSuccess) check_cuda(status, std::string(kernel) + " launch");
}

}  // namespace typenet::cuda_kernels
