// typenet/backend/cuda/loss.cuh
// The loss kernel on the GPU: Keras 2's cross-entropies, their accuracy metric and
// gradient, with the very row functions the CPU runs (backend/shared_math.hpp).
// One block: a thread per row (batches are small, rows cheap), totals summed in
// double in shared memory, so a step reads back three floats.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

#include "typenet/backend/cuda/check.cuh"
#include "typenet/backend/cuda/context.cuh"
#include "typenet/backend/cuda/launch.cuh"
#include "typenet/backend/kernels.hpp"
#include "typenet/backend/shared_math.hpp"

namespace typenet::cuda_kernels {

namespace detail {

inline constexpr unsigned loss_threads = 256;

template <class T = float>
__global__ void loss_kernel(LossKind kind, bool from_logits, const T* y_pred, const T* y_true, std::uint32_t rows,
                            std::uint32_t cols, T* grad, bool wrt_preactivation, float grad_scale, T* totals) {
    __shared__ double sums[3][loss_threads];
    double loss = 0.0, accuracy = 0.0, invalid = 0.0;
    const std::uint32_t label_cols = kind == LossKind::sparse_categorical_crossentropy ? 1 : cols;
    for (std::uint32_t r = threadIdx.x; r < rows; r += blockDim.x) {
        const T* pred = y_pred + static_cast<std::size_t>(r) * cols;
        const T* target = y_true + static_cast<std::size_t>(r) * label_cols;
        T* g = grad != nullptr ? grad + static_cast<std::size_t>(r) * cols : nullptr;
        const shared_math::SampleResult result =
            shared_math::loss_row(kind, from_logits, pred, target, cols, g, wrt_preactivation, grad_scale);
        loss += result.loss;
        accuracy += result.accuracy;
        invalid += result.valid ? 0.0 : 1.0;
    }
    sums[0][threadIdx.x] = loss;
    sums[1][threadIdx.x] = accuracy;
    sums[2][threadIdx.x] = invalid;
    __syncthreads();
    for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
        if (threadIdx.x < half)
            for (int k = 0; k < 3; ++k) sums[k][threadIdx.x] += sums[k][threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0)
        for (int k = 0; k < 3; ++k) totals[k] = static_cast<T>(sums[k][0]);
}

}  // namespace detail

// See backend/kernels.hpp for the contract; totals is a device pointer to 3 floats.
inline void loss_value_and_gradient(LossKind kind, bool from_logits, const float* y_pred, const float* y_true,
                                    std::size_t rows, std::size_t cols, float* grad, bool grad_wrt_preactivation,
                                    float grad_scale, float* totals) {
    require_32_bits(rows * cols, "loss_value_and_gradient");
    detail::loss_kernel<<<1, detail::loss_threads, 0, cuda_context().stream()>>>(
        kind, from_logits, y_pred, y_true, static_cast<std::uint32_t>(rows), static_cast<std::uint32_t>(cols), grad,
        grad_wrt_preactivation, grad_scale, totals);
    check_launch("loss_value_and_gradient");
}

}  // namespace typenet::cuda_kernels
