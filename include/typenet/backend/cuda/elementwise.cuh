// typenet/backend/cuda/elementwise.cuh
// Bias, activations, their derivatives, column sums, dropout, copy and fill on the
// GPU, with the CPU's arithmetic (backend/cpu/elementwise.hpp) so results agree to
// float rounding, and dropout masks agree exactly.
//
// Kernels are templates (on the activation, or on the element type): a __global__
// function defined in a header must be a template to be defined in several .cu files.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <cuda_runtime.h>

#include "typenet/backend/cuda/check.cuh"
#include "typenet/backend/cuda/context.cuh"
#include "typenet/backend/cuda/launch.cuh"
#include "typenet/backend/kernels.hpp"
#include "typenet/backend/shared_math.hpp"
#include "typenet/core/random.hpp"

namespace typenet::cuda_kernels {

namespace detail {

using shared_math::sigmoid;  // the CPU runs the same function

__device__ __forceinline__ float warp_max(float v) {
    for (int offset = 16; offset > 0; offset /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}
__device__ __forceinline__ float warp_sum(float v) {
    for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

template <ActivationKind Act>
__device__ __forceinline__ float activate(float v) {
    if constexpr (Act == ActivationKind::relu) return v < 0.0f ? 0.0f : v;  // NaN passes, as on the CPU
    if constexpr (Act == ActivationKind::sigmoid) return sigmoid(v);
    return v;
}

// Elementwise bias + activation (not softmax): column = i % cols.
template <ActivationKind Act>
__global__ void bias_activation_kernel(float* y, const float* bias, std::uint32_t count, FastDivmod cols) {
    for (std::uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < count; i += gridDim.x * blockDim.x) {
        float v = y[i];
        if (bias != nullptr) {
            std::uint32_t c = 0;
            cols.divmod(i, c);
            v += bias[c];
        }
        y[i] = activate<Act>(v);
    }
}

// One warp per row: bias, then a softmax over the row (max-shifted, as the CPU's).
template <class T = float>
__global__ void bias_softmax_kernel(T* y, const T* bias, std::uint32_t rows, std::uint32_t cols) {
    const std::uint32_t lane = threadIdx.x % 32;
    const std::uint32_t warps = gridDim.x * blockDim.x / 32;
    for (std::uint32_t r = (blockIdx.x * blockDim.x + threadIdx.x) / 32; r < rows; r += warps) {
        T* row = y + static_cast<std::size_t>(r) * cols;
        float peak = -INFINITY;
        for (std::uint32_t c = lane; c < cols; c += 32) {
            const float v = bias != nullptr ? row[c] + bias[c] : row[c];
            row[c] = v;
            peak = fmaxf(peak, v);
        }
        peak = warp_max(peak);
        float total = 0.0f;
        for (std::uint32_t c = lane; c < cols; c += 32) {
            const float e = expf(row[c] - peak);
            row[c] = e;
            total += e;
        }
        const float inv = 1.0f / warp_sum(total);
        for (std::uint32_t c = lane; c < cols; c += 32) row[c] *= inv;
    }
}

template <ActivationKind Act>
__global__ void activation_backward_kernel(const float* y, const float* dy, float* dz, std::uint32_t count) {
    for (std::uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < count; i += gridDim.x * blockDim.x) {
        if constexpr (Act == ActivationKind::relu)
            dz[i] = y[i] > 0.0f ? dy[i] : 0.0f;
        else if constexpr (Act == ActivationKind::sigmoid)
            dz[i] = dy[i] * y[i] * (1.0f - y[i]);
        else
            dz[i] = dy[i];
    }
}

// One warp per row: dz = y * (dy - sum(dy * y)). dz may alias dy: every element is
// read before its own lane writes it, and the dot product is complete before any write.
template <class T = float>
__global__ void softmax_backward_kernel(const T* y, const T* dy, T* dz, std::uint32_t rows, std::uint32_t cols) {
    const std::uint32_t lane = threadIdx.x % 32;
    const std::uint32_t warps = gridDim.x * blockDim.x / 32;
    for (std::uint32_t r = (blockIdx.x * blockDim.x + threadIdx.x) / 32; r < rows; r += warps) {
        const std::size_t at = static_cast<std::size_t>(r) * cols;
        float dot = 0.0f;
        for (std::uint32_t c = lane; c < cols; c += 32) dot += dy[at + c] * y[at + c];
        dot = warp_sum(dot);
        for (std::uint32_t c = lane; c < cols; c += 32) dz[at + c] = y[at + c] * (dy[at + c] - dot);
    }
}

// Column sums in two deterministic passes: blocks of 32 columns x 8 row lanes sum a
// slice of rows each into partial[slice, column], then one thread per column adds
// the slices in order. No atomics: the same input gives the same bits every time.
template <class T = float>
__global__ void partial_column_sums_kernel(const T* dz, std::uint32_t rows, std::uint32_t cols,
                                           std::uint32_t rows_per_slice, T* partial) {
    __shared__ float lanes[8][33];
    const std::uint32_t c = blockIdx.x * 32 + threadIdx.x;
    const std::uint32_t first = blockIdx.y * rows_per_slice;
    const std::uint32_t last = min(rows, first + rows_per_slice);
    float sum = 0.0f;
    if (c < cols)
        for (std::uint32_t r = first + threadIdx.y; r < last; r += 8) sum += dz[static_cast<std::size_t>(r) * cols + c];
    lanes[threadIdx.y][threadIdx.x] = sum;
    __syncthreads();
    if (threadIdx.y == 0 && c < cols) {
        float total = 0.0f;
        for (int k = 0; k < 8; ++k) total += lanes[k][threadIdx.x];
        partial[static_cast<std::size_t>(blockIdx.y) * cols + c] = total;
    }
}

template <class T = float>
__global__ void finish_column_sums_kernel(const T* partial, std::uint32_t slices, std::uint32_t cols, T* sums) {
    for (std::uint32_t c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += gridDim.x * blockDim.x) {
        float total = 0.0f;
        for (std::uint32_t s = 0; s < slices; ++s) total += partial[static_cast<std::size_t>(s) * cols + c];
        sums[c] = total;
    }
}

// y[i] = keep(i) ? x[i] * scale : 0 with the CPU's mask: hash_uniform(seed, stream, i) >= rate.
template <class T = float>
__global__ void dropout_kernel(const T* x, T* y, std::size_t count, float rate, float scale, std::uint64_t seed,
                               std::uint64_t stream, std::uint64_t first) {
    for (std::size_t i = first_index(); i < count; i += grid_stride())
        y[i] = hash_uniform(seed, stream, first + i) >= rate ? x[i] * scale : 0.0f;
}

template <class T>
__global__ void fill_kernel(T* dst, std::size_t count, T value) {
    for (std::size_t i = first_index(); i < count; i += grid_stride())
        dst[i] = value;
}

template <ActivationKind Act>
void launch_bias_activation(float* y, const float* bias, std::size_t count, std::size_t cols) {
    bias_activation_kernel<Act><<<blocks_for(count), threads_per_block, 0, cuda_context().stream()>>>(
        y, bias, static_cast<std::uint32_t>(count), FastDivmod(cols));
    check_launch("bias_activation");
}

template <ActivationKind Act>
void launch_activation_backward(const float* y, const float* dy, float* dz, std::size_t count) {
    activation_backward_kernel<Act><<<blocks_for(count), threads_per_block, 0, cuda_context().stream()>>>(
        y, dy, dz, static_cast<std::uint32_t>(count));
    check_launch("activation_backward");
}

// Blocks for a kernel with one warp per row.
inline unsigned blocks_for_rows(std::size_t rows) { return blocks_for(rows * 32); }

// Calls f(std::integral_constant<ActivationKind, act>{}) for an element-wise activation
// (softmax, which works on rows, is the caller's own case), so that each gets its kernel.
template <class F>
void with_elementwise_activation(ActivationKind act, F&& f) {
    switch (act) {
        case ActivationKind::linear: f(std::integral_constant<ActivationKind, ActivationKind::linear>{}); break;
        case ActivationKind::relu: f(std::integral_constant<ActivationKind, ActivationKind::relu>{}); break;
        case ActivationKind::sigmoid: f(std::integral_constant<ActivationKind, ActivationKind::sigmoid>{}); break;
        case ActivationKind::softmax: break;
    }
}

}  // namespace detail

// y[r, c] = act(y[r, c] + bias[c]) in place; bias may be null; Softmax acts on rows.
inline void bias_activation(float* y, const float* bias, std::size_t rows, std::size_t cols, ActivationKind act) {
    if ((bias == nullptr && act == ActivationKind::linear) || rows == 0 || cols == 0) return;
    const std::size_t count = rows * cols;
    require_32_bits(count, "bias_activation");
    if (act == ActivationKind::softmax) {
        detail::bias_softmax_kernel<<<detail::blocks_for_rows(rows), threads_per_block, 0, cuda_context().stream()>>>(
            y, bias, static_cast<std::uint32_t>(rows), static_cast<std::uint32_t>(cols));
        check_launch("bias_activation (softmax)");
        return;
    }
    detail::with_elementwise_activation(act, [&](auto kind) {
        detail::launch_bias_activation<decltype(kind)::value>(y, bias, count, cols);
    });
}

// dz = dL/d(pre-activation) from the activation's output y and dL/dy; dz may alias dy.
inline void activation_backward(const float* y, const float* dy, float* dz, std::size_t rows, std::size_t cols,
                                ActivationKind act) {
    if ((act == ActivationKind::linear && dz == dy) || rows == 0 || cols == 0) return;
    const std::size_t count = rows * cols;
    require_32_bits(count, "activation_backward");
    if (act == ActivationKind::softmax) {
        detail::softmax_backward_kernel<<<detail::blocks_for_rows(rows), threads_per_block, 0, cuda_context().stream()>>>(
            y, dy, dz, static_cast<std::uint32_t>(rows), static_cast<std::uint32_t>(cols));
        check_launch("activation_backward (softmax)");
        return;
    }
    detail::with_elementwise_activation(act, [&](auto kind) {
        detail::launch_activation_backward<decltype(kind)::value>(y, dy, dz, count);
    });
}

// sums[c] = sum over r of dz[r, c] (overwrites).
inline void column_sums(const float* dz, std::size_t rows, std::size_t cols, float* sums) {
    if (cols == 0) return;
    CudaContext& context = cuda_context();
    if (rows == 0) {
        check_cuda(cudaMemsetAsync(sums, 0, cols * sizeof(float), context.stream()), "column_sums (cudaMemsetAsync)");
        return;
    }
    require_32_bits(rows * cols, "column_sums");
    const std::size_t column_blocks = (cols + 31) / 32;
    // Enough slices to give every multiprocessor a few blocks, each slice at least 64 rows.
    const std::size_t wanted = static_cast<std::size_t>(context.multiprocessors()) * 4 / column_blocks + 1;
    const std::size_t slices = std::min<std::size_t>({wanted, (rows + 63) / 64, 65535});
    const std::size_t rows_per_slice = (rows + slices - 1) / slices;
    float* partial = context.scratch(slices * cols);
    detail::partial_column_sums_kernel<<<dim3(static_cast<unsigned>(column_blocks), static_cast<unsigned>(slices)),
                                         dim3(32, 8), 0, context.stream()>>>(
        dz, static_cast<std::uint32_t>(rows), static_cast<std::uint32_t>(cols),
        static_cast<std::uint32_t>(rows_per_slice), partial);
    check_launch("column_sums (partial)");
    detail::finish_column_sums_kernel<<<blocks_for(cols), threads_per_block, 0, context.stream()>>>(
        partial, static_cast<std::uint32_t>(slices), static_cast<std::uint32_t>(cols), sums);
    check_launch("column_sums (finish)");
}

// y[i] = keep(i) ? x[i] / (1 - rate) : 0, keep(i) = hash_uniform(seed, stream, first + i) >= rate.
inline void dropout_forward(const float* x, float* y, std::size_t count, float rate, std::uint64_t seed,
                            std::uint64_t stream, std::uint64_t first) {
    if (count == 0) return;
    const float scale = 1.0f / (1.0f - rate);  // computed as the CPU does, so the products match bit for bit
    detail::dropout_kernel<<<blocks_for(count), threads_per_block, 0, cuda_context().stream()>>>(x, y, count, rate,
                                                                                                scale, seed, stream, first);
    check_launch("dropout");
}

// The same mask and scale, recomputed.
inline void dropout_backward(const float* dy, float* dx, std::size_t count, float rate, std::uint64_t seed,
                             std::uint64_t stream, std::uint64_t first) {
    dropout_forward(dy, dx, count, rate, seed, stream, first);
}

inline void copy(const float* src, float* dst, std::size_t count) {
    if (count == 0 || src == dst) return;
    check_cuda(cudaMemcpyAsync(dst, src, count * sizeof(float), cudaMemcpyDeviceToDevice, cuda_context().stream()),
               "copy (cudaMemcpyAsync device to device)");
}

inline void fill(float* dst, std::size_t count, float value) {
    if (count == 0) return;
    detail::fill_kernel<float><<<blocks_for(count), threads_per_block, 0, cuda_context().stream()>>>(dst, count, value);
    check_launch("fill");
}

}  // namespace typenet::cuda_kernels
