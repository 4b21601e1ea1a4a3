// typenet/backend/cuda/batch_norm.cuh
// Batch normalisation on the GPU, the CPU's arithmetic (backend/cpu/batch_norm.hpp):
// one block per channel sums in double over the rows (mean first, then squared
// deviations), then the same block updates the moving statistics; normalisation is
// elementwise. Correctness first: the channel stride makes the reads uncoalesced, which
// a later kernel that tiles channels can fix.
#pragma once

#include <cmath>
#include <cstddef>

#include <cuda_runtime.h>

#include "typenet/backend/cuda/check.cuh"
#include "typenet/backend/cuda/context.cuh"
#include "typenet/backend/cuda/launch.cuh"

namespace typenet::cuda_kernels {

namespace detail {

inline constexpr unsigned bn_threads = 256;

// Sum of `value` over the block's threads (all of them call it); every thread gets it.
template <class T>
__device__ T block_sum(T value, T* shared) {
    shared[threadIdx.x] = value;
    __syncthreads();
    for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
        if (threadIdx.x < half) shared[threadIdx.x] += shared[threadIdx.x + half];
        __syncthreads();
    }
    const T total = shared[0];
    __syncthreads();
    return total;
}

template <class T = float>
__global__ void bn_statistics_kernel(const T* x, std::size_t rows, std::size_t channels, float epsilon, float momentum,
                                     T* saved_mean, T* saved_inv_std, T* moving_mean, T* moving_variance) {
    __shared__ double shared[bn_threads];
    const std::size_t c = blockIdx.x;
    double sum = 0.0;
    for (std::size_t r = threadIdx.x; r < rows; r += blockDim.x) sum += x[r * channels + c];
    const double mean = block_sum(sum, shared) / static_cast<double>(rows);
    const float mean_f = static_cast<float>(mean);
    double squares = 0.0;
    for (std::size_t r = threadIdx.x; r < rows; r += blockDim.x) {
        const double d = static_cast<double>(x[r * channels + c]) - mean_f;
        squares += d * d;
    }
    const double variance = block_sum(squares, shared) / static_cast<double>(rows);  // biased
    if (threadIdx.x == 0) {
        saved_mean[c] = mean_f;
        saved_inv_std[c] = static_cast<float>(1.0 / sqrt(variance + epsilon));
        moving_mean[c] = moving_mean[c] * momentum + mean_f * (1.0f - momentum);
        moving_variance[c] = moving_variance[c] * momentum + static_cast<float>(variance) * (1.0f - momentum);
    }
}

template <class T = float>
__global__ void bn_moving_kernel(const T* moving_mean, const T* moving_variance, std::size_t channels, float epsilon,
                                 T* saved_mean, T* saved_inv_std) {
    for (std::size_t c = first_index(); c < channels; c += grid_stride()) {
        saved_mean[c] = moving_mean[c];
        saved_inv_std[c] = 1.0f / sqrtf(moving_variance[c] + epsilon);
    }
}

template <class T = float>
__global__ void bn_normalise_kernel(const T* x, std::size_t count, std::size_t channels, const T* gamma, const T* beta,
                                    const T* mean, const T* inv_std, T* y) {
    for (std::size_t i = first_index(); i < count; i += grid_stride()) {
        const std::size_t c = i % channels;
        const float scale = gamma[c] * inv_std[c];
        y[i] = x[i] * scale + (beta[c] - mean[c] * scale);
    }
}

// One block per channel: both sums, then dgamma/dbeta and the channel's dx.
template <class T = float>
__global__ void bn_backward_kernel(const T* x, const T* dy, std::size_t rows, std::size_t channels, const T* gamma,
                                   const T* mean, const T* inv_std, bool batch_statistics, T* dx, T* dgamma, T* dbeta) {
    __shared__ double shared[bn_threads];
    const std::size_t c = blockIdx.x;
    const float m = mean[c], s = inv_std[c];
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for (std::size_t r = threadIdx.x; r < rows; r += blockDim.x) {
        const float d = dy[r * channels + c];
        sum_dy += d;
        sum_dy_xhat += static_cast<double>(d) * ((x[r * channels + c] - m) * s);
    }
    sum_dy = block_sum(sum_dy, shared);
    sum_dy_xhat = block_sum(sum_dy_xhat, shared);
    if (threadIdx.x == 0) {
        if (dbeta != nullptr) dbeta[c] = static_cast<float>(sum_dy);
        if (dgamma != nullptr) dgamma[c] = static_cast<float>(sum_dy_xhat);
    }
    if (dx == nullptr || rows == 0) return;
    const float scale = gamma[c] * s;
    const float mean_dy = batch_statistics ? static_cast<float>(sum_dy / static_cast<double>(rows)) : 0.0f;
    const float mean_dy_xhat = batch_statistics ? static_cast<float>(sum_dy_xhat / static_cast<double>(rows)) : 0.0f;
    for (std::size_t r = threadIdx.x; r < rows; r += blockDim.x) {
        const std::size_t i = r * channels + c;
        const float xhat = (x[i] - m) * s;
        dx[i] = scale * (dy[i] - mean_dy - xhat * mean_dy_xhat);
    }
}

}  // namespace detail

inline void batchnorm_forward_training(const float* x, std::size_t rows, std::size_t channels, const float* gamma,
                                       const float* beta, float epsilon, float momentum, float* y, float* saved_mean,
                                       float* saved_inv_std, float* moving_mean, float* moving_variance) {
    if (rows == 0 || channels == 0) return;
    cudaStream_t stream = cuda_context().stream();
    detail::bn_statistics_kernel<<<static_cast<unsigned>(channels), detail::bn_threads, 0, stream>>>(
        x, rows, channels, epsilon, momentum, saved_mean, saved_inv_std, moving_mean, moving_variance);
    check_launch("batchnorm_forward_training (statistics)");
    detail::bn_normalise_kernel<<<blocks_for(rows * channels), threads_per_block, 0, stream>>>(
        x, rows * channels, channels, gamma, beta, saved_mean, saved_inv_std, y);
    check_launch("batchnorm_forward_training (normalise)");
}

inline void batchnorm_forward_inference(const float* x, std::size_t rows, std::size_t channels, const float* gamma,
                                        const float* beta, const float* moving_mean, const float* moving_variance,
                                        float epsilon, float* y, float* saved_mean, float* saved_inv_std) {
    if (channels == 0) return;
    cudaStream_t stream = cuda_context().stream();
    detail::bn_moving_kernel<<<blocks_for(channels), threads_per_block, 0, stream>>>(moving_mean, moving_variance,
                                                                                    channels, epsilon, saved_mean,
                                                                                    saved_inv_std);
    check_launch("batchnorm_forward_inference (statistics)");
    if (rows == 0) return;
    detail::bn_normalise_kernel<<<blocks_for(rows * channels), threads_per_block, 0, stream>>>(
        x, rows * channels, channels, gamma, beta, saved_mean, saved_inv_std, y);
    check_launch("batchnorm_forward_inference (normalise)");
}

inline void batchnorm_backward(const float* x, const float* dy, std::size_t rows, std::size_t channels,
                               const float* gamma, const float* mean, const float* inv_std, bool batch_statistics,
                               float* dx, float* dgamma, float* dbeta) {
    if (channels == 0) return;
    detail::bn_backward_kernel<<<static_cast<unsigned>(channels), detail::bn_threads, 0, cuda_context().stream()>>>(
        x, dy, rows, channels, gamma, mean, inv_std, batch_statistics, dx, dgamma, dbeta);
    check_launch("batchnorm_backward");
}

}  // namespace typenet::cuda_kernels
