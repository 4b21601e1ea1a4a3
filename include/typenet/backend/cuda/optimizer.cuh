// typenet/backend/cuda/optimizer.cuh
// The optimizer steps on the GPU: one pass over a parameter and its state each, with
// the CPU's expressions term by term (backend/cpu/optimizer.hpp, Keras 2's optimizers).
#pragma once

#include <cmath>
#include <cstddef>

#include <cuda_runtime.h>

#include "typenet/backend/cuda/check.cuh"
#include "typenet/backend/cuda/context.cuh"
#include "typenet/backend/cuda/launch.cuh"

namespace typenet::cuda_kernels {

namespace detail {

// Parameters can pass 2^31 floats: these loops count in 64 bits.
template <bool Momentum>
__global__ void sgd_kernel(float* w, const float* g, float* velocity, std::size_t count, float lr, float momentum,
                           bool nesterov) {
    for (std::size_t i = first_index(); i < count; i += grid_stride()) {
        if constexpr (!Momentum) {
            w[i] = w[i] - lr * g[i];
        } else {
            const float v = momentum * velocity[i] - lr * g[i];
            velocity[i] = v;
            w[i] = nesterov ? w[i] + momentum * v - lr * g[i] : w[i] + v;
        }
    }
}

template <class T = float>
__global__ void rmsprop_kernel(T* w, const T* g, T* accumulator, std::size_t count, float lr, float rho,
                               float one_minus_rho, float epsilon) {
    for (std::size_t i = first_index(); i < count; i += grid_stride()) {
        const float a = rho * accumulator[i] + one_minus_rho * (g[i] * g[i]);
        accumulator[i] = a;
        w[i] = w[i] - lr * g[i] / (sqrtf(a) + epsilon);
    }
}

template <class T = float>
__global__ void adam_kernel(T* w, const T* g, T* m, T* v, std::size_t count, float lr_t, float beta_1, float beta_2,
                            float one_minus_b1, float one_minus_b2, float epsilon) {
    for (std::size_t i = first_index(); i < count; i += grid_stride()) {
        const float m_t = beta_1 * m[i] + one_minus_b1 * g[i];
        const float v_t = beta_2 * v[i] + one_minus_b2 * (g[i] * g[i]);
        m[i] = m_t;
        v[i] = v_t;
        w[i] = w[i] - lr_t * m_t / (sqrtf(v_t) + epsilon);
    }
}

}  // namespace detail

inline void sgd_update(float* w, const float* g, float* velocity, std::size_t count, float lr, float momentum,
                       bool nesterov) {
    if (count == 0) return;
    if (momentum == 0.0f || velocity == nullptr)
        detail::sgd_kernel<false><<<blocks_for(count), threads_per_block, 0, cuda_context().stream()>>>(
            w, g, velocity, count, lr, momentum, nesterov);
    else
        detail::sgd_kernel<true><<<blocks_for(count), threads_per_block, 0, cuda_context().stream()>>>(
            w, g, velocity, count, lr, momentum, nesterov);
    check_launch("sgd_update");
}

inline void rmsprop_update(float* w, const float* g, float* accumulator, std::size_t count, float lr, float rho,
                           float epsilon) {
    if (count == 0) return;
    detail::rmsprop_kernel<<<blocks_for(count), threads_per_block, 0, cuda_context().stream()>>>(
        w, g, accumulator, count, lr, rho, 1.0f - rho, epsilon);
    check_launch("rmsprop_update");
}

inline void adam_update(float* w, const float* g, float* m, float* v, std::size_t count, float lr_t, float beta_1,
                        float beta_2, float epsilon) {
    if (count == 0) return;
    detail::adam_kernel<<<blocks_for(count), threads_per_block, 0, cuda_context().stream()>>>(
        w, g, m, v, count, lr_t, beta_1, beta_2, 1.0f - beta_1, 1.0f - beta_2, epsilon);
    check_launch("adam_update");
}

}  // namespace typenet::cuda_kernels
