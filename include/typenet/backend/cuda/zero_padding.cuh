// typenet/backend/cuda/zero_padding.cuh
// ZeroPadding2D on the GPU: a thread per output value (zero or a copy); backward crops.
#pragma once

#include <cstddef>

#include <cuda_runtime.h>

#include "typenet/backend/cuda/check.cuh"
#include "typenet/backend/cuda/context.cuh"
#include "typenet/backend/cuda/launch.cuh"
#include "typenet/backend/kernels.hpp"

namespace typenet::cuda_kernels {

namespace detail {

template <class T = float>
__global__ void zero_pad_forward_kernel(const T* x, std::size_t count, Pad2DGeometry g, T* y) {
    for (std::size_t i = first_index(); i < count; i += grid_stride()) {
        const auto [n, oy, ox, c] = nhwc_index(i, g.out_h, g.out_w, g.channels);
        const bool inside = oy >= g.top && oy - g.top < g.in_h && ox >= g.left && ox - g.left < g.in_w;
        y[i] = inside ? x[n * (g.in_h * g.in_w * g.channels) + ((oy - g.top) * g.in_w + (ox - g.left)) * g.channels + c] : 0.0f;
    }
}

template <class T = float>
__global__ void zero_pad_backward_kernel(const T* dy, std::size_t count, Pad2DGeometry g, T* dx) {
    for (std::size_t i = first_index(); i < count; i += grid_stride()) {
        const auto [n, iy, ix, c] = nhwc_index(i, g.in_h, g.in_w, g.channels);
        dx[i] = dy[n * (g.out_h * g.out_w * g.channels) + ((iy + g.top) * g.out_w + (ix + g.left)) * g.channels + c];
    }
}

}  // namespace detail

inline void zero_pad_forward(const Pad2DGeometry& g, const float* x, std::size_t batch, float* y) {
    const std::size_t count = batch * g.out_size();
    launch_over(count, "zero_pad_forward", detail::zero_pad_forward_kernel<float>, x, count, g, y);
}

inline void zero_pad_backward(const Pad2DGeometry& g, const float* dy, std::size_t batch, float* dx) {
    const std::size_t count = batch * g.in_size();
    launch_over(count, "zero_pad_backward", detail::zero_pad_backward_kernel<float>, dy, count, g, dx);
}

}  // namespace typenet::cuda_kernels
