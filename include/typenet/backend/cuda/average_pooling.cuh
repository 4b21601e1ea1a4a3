// typenet/backend/cuda/average_pooling.cuh
// Average pooling on the GPU with the CPU's rule (backend/cpu/average_pooling.hpp): the
// mean over the window's pixels inside the input. Backward gathers: a thread per input
// value sums dy / count over the outputs whose window holds it (no atomics).
#pragma once

#include <cstddef>

#include <cuda_runtime.h>

#include "typenet/backend/cuda/check.cuh"
#include "typenet/backend/cuda/context.cuh"
#include "typenet/backend/cuda/launch.cuh"
#include "typenet/backend/kernels.hpp"

namespace typenet::cuda_kernels {

namespace detail {

// The input range [begin, end) that output position `out` covers along one axis.
__device__ __forceinline__ void avgpool_window(std::size_t out, std::size_t stride, std::size_t pool, std::size_t pad,
                                               std::size_t size, std::size_t& begin, std::size_t& end) {
    const std::size_t first = out * stride, last = out * stride + pool;
    begin = first > pad ? first - pad : 0;
    end = last > pad ? last - pad : 0;
    if (end > size) end = size;
}

template <class T = float>
__global__ void avgpool_forward_kernel(const T* x, std::size_t count, ConvGeometry g, T* y) {
    const std::size_t C = g.filters;
    for (std::size_t i = first_index(); i < count; i += grid_stride()) {
        const auto [n, oy, ox, c] = nhwc_index(i, g.out_h, g.out_w, C);
        std::size_t y0, y1, x0, x1;
        avgpool_window(oy, g.stride_h, g.kernel_h, g.pad_top, g.in_h, y0, y1);
        avgpool_window(ox, g.stride_w, g.kernel_w, g.pad_left, g.in_w, x0, x1);
        float acc = 0.0f;
        for (std::size_t iy = y0; iy < y1; ++iy)
            for (std::size_t ix = x0; ix < x1; ++ix) acc += x[n * (g.in_h * g.in_w * g.in_c) + (iy * g.in_w + ix) * C + c];
        y[i] = acc * (1.0f / static_cast<float>((y1 - y0) * (x1 - x0)));
    }
}

template <class T = float>
__global__ void avgpool_backward_kernel(const T* dy, std::size_t count, ConvGeometry g, T* dx) {
    const std::size_t C = g.filters;
    for (std::size_t i = first_index(); i < count; i += grid_stride()) {
        const auto [n, iy, ix, c] = nhwc_index(i, g.in_h, g.in_w, C);
        float acc = 0.0f;
        for (std::size_t oy = 0; oy < g.out_h; ++oy) {
            std::size_t y0, y1;
            avgpool_window(oy, g.stride_h, g.kernel_h, g.pad_top, g.in_h, y0, y1);
            if (iy < y0 || iy >= y1) continue;
            for (std::size_t ox = 0; ox < g.out_w; ++ox) {
                std::size_t x0, x1;
                avgpool_window(ox, g.stride_w, g.kernel_w, g.pad_left, g.in_w, x0, x1);
                if (ix < x0 || ix >= x1) continue;
                acc += dy[n * (g.out_h * g.out_w * g.filters) + (oy * g.out_w + ox) * C + c] *
                       (1.0f / static_cast<float>((y1 - y0) * (x1 - x0)));
            }
        }
        dx[i] = acc;
    }
}

}  // namespace detail

inline void avgpool_forward(const ConvGeometry& g, const float* x, std::size_t batch, float* y) {
    const std::size_t count = batch * g.out_size();
    launch_over(count, "avgpool_forward", detail::avgpool_forward_kernel<float>, x, count, g, y);
}

inline void avgpool_backward(const ConvGeometry& g, const float* dy, std::size_t batch, float* dx) {
    const std::size_t count = batch * g.in_size();
    launch_over(count, "avgpool_backward", detail::avgpool_backward_kernel<float>, dy, count, g, dx);
}

}  // namespace typenet::cuda_kernels
