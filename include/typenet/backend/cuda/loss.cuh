// typenet/backend/cuda/loss.cuh
// The loss kernel on the GPU: Keras 2's cross-entropies, their accuracy metric and
// gradient, row for row the CPU's arithmetic (backend/cpu/loss.hpp, which cites Keras).
// One block: a thread per row (batches are small, rows cheap), totals summed in
// double in shared memory, so a step reads back three floats.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

#include "typenet/backend/cuda/check.cuh"
#include "typenet/backend/cuda/context.cuh"
#include "typenet/backend/cuda/elementwise.cuh"
#include "typenet/backend/kernels.hpp"

namespace typenet::cuda_kernels {

namespace detail {

inline constexpr float device_loss_epsilon = 1e-7f;  // Keras's K.epsilon(), as cpu_kernels::loss_epsilon
inline constexpr unsigned loss_threads = 256;

__device__ __forceinline__ float sigmoid_cross_entropy(float z, float t) {
    return fmaxf(z, 0.0f) - z * t + log1pf(expf(-fabsf(z)));
}

// Index of the first largest value.
__device__ __forceinline__ std::uint32_t row_argmax(const float* v, std::uint32_t n) {
    std::uint32_t best = 0;
    for (std::uint32_t i = 1; i < n; ++i)
        if (v[i] > v[best]) best = i;
    return best;
}

__device__ __forceinline__ float log_sum_exp(const float* z, std::uint32_t n) {
    const float peak = z[row_argmax(z, n)];
    float total = 0.0f;
    for (std::uint32_t i = 0; i < n; ++i) total += expf(z[i] - peak);
    return peak + logf(total);
}

__device__ __forceinline__ bool inside_clip(float p) {
    return p >= device_loss_epsilon && p <= 1.0f - device_loss_epsilon;
}
__device__ __forceinline__ float clip(float p) {
    return fminf(fmaxf(p, device_loss_epsilon), 1.0f - device_loss_epsilon);
}

struct RowResult {
    float loss;
    float accuracy;
    bool valid;
};

__device__ inline RowResult binary_row(bool from_logits, const float* pred, const float* target, std::uint32_t cols,
                                       float* grad, bool wrt_preactivation, float scale) {
    float loss = 0.0f, hits = 0.0f;
    const float g_scale = scale / static_cast<float>(cols);
    for (std::uint32_t c = 0; c < cols; ++c) {
        const float t = target[c];
        if (from_logits) {
            const float z = pred[c];
            loss += sigmoid_cross_entropy(z, t);
            hits += t == (z > 0.0f ? 1.0f : 0.0f) ? 1.0f : 0.0f;
            if (grad != nullptr) grad[c] = (sigmoid(z) - t) * g_scale;
        } else {
            const float p = pred[c];
            const float pc = clip(p);
            const float z = logf(pc / (1.0f - pc));
            loss += sigmoid_cross_entropy(z, t);
            hits += t == (p > 0.5f ? 1.0f : 0.0f) ? 1.0f : 0.0f;
            if (grad != nullptr) {
                if (wrt_preactivation)
                    grad[c] = (p - t) * g_scale;
                else
                    grad[c] = inside_clip(p) ? (pc - t) / (pc * (1.0f - pc)) * g_scale : 0.0f;
            }
        }
    }
    const float n = static_cast<float>(cols);
    return {loss / n, hits / n, true};
}

__device__ inline RowResult categorical_row(bool from_logits, const float* pred, const float* target,
                                            std::uint32_t cols, float* grad, bool wrt_preactivation, float scale) {
    const float hit = row_argmax(target, cols) == row_argmax(pred, cols) ? 1.0f : 0.0f;
    float target_sum = 0.0f;
    for (std::uint32_t c = 0; c < cols; ++c) target_sum += target[c];
    float loss = 0.0f;
    if (from_logits) {
        const float lse = log_sum_exp(pred, cols);
        for (std::uint32_t c = 0; c < cols; ++c) loss += target[c] * (lse - pred[c]);
        if (grad != nullptr)
            for (std::uint32_t c = 0; c < cols; ++c) grad[c] = (expf(pred[c] - lse) * target_sum - target[c]) * scale;
        return {loss, hit, true};
    }
    float total = 0.0f;
    for (std::uint32_t c = 0; c < cols; ++c) total += pred[c];
    for (std::uint32_t c = 0; c < cols; ++c) loss -= target[c] * logf(clip(pred[c] / total));
    if (grad != nullptr) {
        if (wrt_preactivation) {
            for (std::uint32_t c = 0; c < cols; ++c) grad[c] = (pred[c] * target_sum - target[c]) * scale;
        } else {
            float dot = 0.0f;
            for (std::uint32_t c = 0; c < cols; ++c) {
                const float q = pred[c] / total;
                grad[c] = inside_clip(q) ? -target[c] / q : 0.0f;
                dot += grad[c] * q;
            }
            for (std::uint32_t c = 0; c < cols; ++c) grad[c] = (grad[c] - dot) / total * scale;
        }
    }
    return {loss, hit, true};
}

__device__ inline RowResult sparse_row(bool from_logits, const float* pred, float label, std::uint32_t cols,
                                       float* grad, bool wrt_preactivation, float scale) {
    const bool valid = label >= 0.0f && label < static_cast<float>(cols) && floorf(label) == label;
    if (!valid) {
        if (grad != nullptr)
            for (std::uint32_t c = 0; c < cols; ++c) grad[c] = 0.0f;
        return {0.0f, 0.0f, false};
    }
    const std::uint32_t k = static_cast<std::uint32_t>(label);
    const float hit = row_argmax(pred, cols) == k ? 1.0f : 0.0f;
    if (from_logits) {
        const float lse = log_sum_exp(pred, cols);
        if (grad != nullptr)
            for (std::uint32_t c = 0; c < cols; ++c) grad[c] = (expf(pred[c] - lse) - (c == k ? 1.0f : 0.0f)) * scale;
        return {lse - pred[k], hit, true};
    }
    float clipped_sum = 0.0f;
    for (std::uint32_t c = 0; c < cols; ++c) clipped_sum += clip(pred[c]);
    const float loss = logf(clipped_sum) - logf(clip(pred[k]));
    if (grad != nullptr) {
        for (std::uint32_t c = 0; c < cols; ++c) {
            const float onehot = c == k ? 1.0f : 0.0f;
            if (wrt_preactivation)
                grad[c] = (pred[c] - onehot) * scale;
            else
                grad[c] = inside_clip(pred[c]) ? (1.0f / clipped_sum - onehot / clip(pred[c])) * scale : 0.0f;
        }
    }
    return {loss, hit, true};
}

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
        RowResult result{};
        switch (kind) {
            case LossKind::binary_crossentropy:
                result = binary_row(from_logits, pred, target, cols, g, wrt_preactivation, grad_scale);
                break;
            case LossKind::categorical_crossentropy:
                result = categorical_row(from_logits, pred, target, cols, g, wrt_preactivation, grad_scale);
                break;
            case LossKind::sparse_categorical_crossentropy:
                result = sparse_row(from_logits, pred, *target, cols, g, wrt_preactivation, grad_scale);
                break;
        }
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
