// typenet/backend/cuda/depthwise_conv2d.cuh
// Depthwise convolution on the GPU, the CPU's layout and rules
// (backend/cpu/depthwise_conv2d.hpp): output channel o = c * M + m reads input channel
// o / M. Forward: a thread per output value. Backward: a thread per input value (dx
// gathers from the outputs that saw it, so no atomics) and a block per kernel value
// (dkernel sums over the batch in a fixed order).
#pragma once

#include <cstddef>

#include <cuda_runtime.h>

#include "typenet/backend/cuda/check.cuh"
#include "typenet/backend/cuda/context.cuh"
#include "typenet/backend/cuda/elementwise.cuh"
#include "typenet/backend/cuda/launch.cuh"
#include "typenet/backend/kernels.hpp"

namespace typenet::cuda_kernels {

namespace detail {

template <class T = float>
__global__ void depthwise_forward_kernel(const T* x, std::size_t count, ConvGeometry g, const T* kernel, const T* bias,
                                         T* y) {
    const std::size_t F = g.filters, M = g.filters / g.in_c;
    for (std::size_t i = first_index(); i < count; i += grid_stride()) {
        const std::size_t o = i % F, pixel = i / F;
        const std::size_t ox = pixel % g.out_w, oy = (pixel / g.out_w) % g.out_h, n = pixel / (g.out_h * g.out_w);
        const T* image = x + n * (g.in_h * g.in_w * g.in_c);
        float acc = bias != nullptr ? bias[o] : 0.0f;
        for (std::size_t ky = 0; ky < g.kernel_h; ++ky) {
            const std::size_t at_y = oy * g.stride_h + ky;
            if (at_y < g.pad_top || at_y - g.pad_top >= g.in_h) continue;
            for (std::size_t kx = 0; kx < g.kernel_w; ++kx) {
                const std::size_t at_x = ox * g.stride_w + kx;
                if (at_x < g.pad_left || at_x - g.pad_left >= g.in_w) continue;
                acc += image[((at_y - g.pad_top) * g.in_w + (at_x - g.pad_left)) * g.in_c + o / M] *
                       kernel[(ky * g.kernel_w + kx) * F + o];
            }
        }
        y[i] = acc;
    }
}

// dx[n, iy, ix, c] = sum over m, taps and the outputs that read (iy, ix).
template <class T = float>
__global__ void depthwise_backward_data_kernel(const T* dz, std::size_t count, ConvGeometry g, const T* kernel, T* dx) {
    const std::size_t F = g.filters, M = g.filters / g.in_c;
    for (std::size_t i = first_index(); i < count; i += grid_stride()) {
        const std::size_t c = i % g.in_c, pixel = i / g.in_c;
        const std::size_t ix = pixel % g.in_w, iy = (pixel / g.in_w) % g.in_h, n = pixel / (g.in_h * g.in_w);
        float acc = 0.0f;
        for (std::size_t ky = 0; ky < g.kernel_h; ++ky) {
            const std::size_t at_y = iy + g.pad_top;  // = oy * stride + ky
            if (at_y < ky || (at_y - ky) % g.stride_h != 0) continue;
            const std::size_t oy = (at_y - ky) / g.stride_h;
            if (oy >= g.out_h) continue;
            for (std::size_t kx = 0; kx < g.kernel_w; ++kx) {
                const std::size_t at_x = ix + g.pad_left;
                if (at_x < kx || (at_x - kx) % g.stride_w != 0) continue;
                const std::size_t ox = (at_x - kx) / g.stride_w;
                if (ox >= g.out_w) continue;
                const T* d = dz + n * (g.out_h * g.out_w * g.filters) + (oy * g.out_w + ox) * F + c * M;
                const T* k = kernel + (ky * g.kernel_w + kx) * F + c * M;
                for (std::size_t m = 0; m < M; ++m) acc += k[m] * d[m];
            }
        }
        dx[i] = acc;
    }
}

// One block per kernel value (tap, o): the sum over the batch's outputs, reduced in the block.
template <class T = float>
__global__ void depthwise_backward_kernel_kernel(const T* x, const T* dz, std::size_t batch, ConvGeometry g, T* dkernel) {
    __shared__ float shared[256];
    const std::size_t F = g.filters, M = g.filters / g.in_c;
    const std::size_t o = blockIdx.x % F, tap = blockIdx.x / F;
    const std::size_t ky = tap / g.kernel_w, kx = tap % g.kernel_w;
    float acc = 0.0f;
    const std::size_t outputs = batch * (g.out_h * g.out_w);
    for (std::size_t p = threadIdx.x; p < outputs; p += blockDim.x) {
        const std::size_t ox = p % g.out_w, oy = (p / g.out_w) % g.out_h, n = p / (g.out_h * g.out_w);
        const std::size_t at_y = oy * g.stride_h + ky, at_x = ox * g.stride_w + kx;
        if (at_y < g.pad_top || at_y - g.pad_top >= g.in_h || at_x < g.pad_left || at_x - g.pad_left >= g.in_w) continue;
        acc += x[n * (g.in_h * g.in_w * g.in_c) + ((at_y - g.pad_top) * g.in_w + (at_x - g.pad_left)) * g.in_c + o / M] *
               dz[p * F + o];
    }
    shared[threadIdx.x] = acc;
    __syncthreads();
    for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
        if (threadIdx.x < half) shared[threadIdx.x] += shared[threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0) dkernel[tap * F + o] = shared[0];
}

}  // namespace detail

inline void depthwise_conv2d_forward(const ConvGeometry& g, const float* x, std::size_t batch, const float* kernel,
                                     const float* bias, float* y, ActivationKind act) {
    const std::size_t count = batch * g.out_size();
    if (count == 0) return;
    detail::depthwise_forward_kernel<<<blocks_for(count), threads_per_block, 0, cuda_context().stream()>>>(
        x, count, g, kernel, bias, y);
    check_launch("depthwise_conv2d_forward");
    if (act != ActivationKind::linear) bias_activation(y, nullptr, batch * g.out_pixels(), g.filters, act);
}

inline void depthwise_conv2d_backward(const ConvGeometry& g, const float* x, std::size_t batch, const float* kernel,
                                      const float* dz, float* dx, float* dkernel, float* dbias) {
    cudaStream_t stream = cuda_context().stream();
    if (dbias != nullptr) column_sums(dz, batch * g.out_pixels(), g.filters, dbias);
    if (dkernel != nullptr) {
        detail::depthwise_backward_kernel_kernel<<<static_cast<unsigned>(g.kernel_h * g.kernel_w * g.filters), 256, 0,
                                                   stream>>>(x, dz, batch, g, dkernel);
        check_launch("depthwise_conv2d_backward (kernel)");
    }
    const std::size_t count = batch * g.in_size();
    if (dx == nullptr || count == 0) return;
    detail::depthwise_backward_data_kernel<<<blocks_for(count), threads_per_block, 0, stream>>>(dz, count, g, kernel,
                                                                                               dx);
    check_launch("depthwise_conv2d_backward (data)");
}

}  // namespace typenet::cuda_kernels
