// typenet/backend/cuda/relu.cuh
// The ReLU layer with a ceiling on the GPU, the CPU's rule (backend/cpu/relu.hpp).
#pragma once

#include <cstddef>

#include <cuda_runtime.h>

#include "typenet/backend/cuda/check.cuh"
#include "typenet/backend/cuda/context.cuh"
#include "typenet/backend/cuda/launch.cuh"

namespace typenet::cuda_kernels {

namespace detail {

template <class T = float>
__global__ void relu_forward_kernel(const T* x, T* y, std::size_t count, float max_value) {
    for (std::size_t i = first_index(); i < count; i += grid_stride()) {
        const float v = x[i];
        y[i] = v < 0.0f ? 0.0f : (v > max_value ? max_value : v);  // NaN passes
    }
}

template <class T = float>
__global__ void relu_backward_kernel(const T* x, const T* dy, T* dx, std::size_t count, float max_value) {
    for (std::size_t i = first_index(); i < count; i += grid_stride())
        dx[i] = (x[i] > 0.0f && x[i] < max_value) ? dy[i] : 0.0f;
}

}  // namespace detail

inline void relu_forward(const float* x, float* y, std::size_t count, float max_value) {
    if (count == 0) return;
    detail::relu_forward_kernel<<<blocks_for(count), threads_per_block, 0, cuda_context().stream()>>>(x, y, count,
                                                                                                     max_value);
    check_launch("relu_forward");
}

inline void relu_backward(const float* x, const float* dy, float* dx, std::size_t count, float max_value) {
    if (count == 0) return;
    detail::relu_backward_kernel<<<blocks_for(count), threads_per_block, 0, cuda_context().stream()>>>(x, dy, dx, count,
                                                                                                      max_value);
    check_launch("relu_backward");
}

}  // namespace typenet::cuda_kernels
