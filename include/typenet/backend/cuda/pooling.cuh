// typenet/backend/cuda/pooling.cuh
// Max pooling on the GPU with the CPU's rules (backend/cpu/pooling.hpp): the first
// maximum of a window wins ties, and argmax is the index within the image, so both
// devices keep the same argmax and route gradients identically.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

#include "typenet/backend/cuda/check.cuh"
#include "typenet/backend/cuda/context.cuh"
#include "typenet/backend/cuda/launch.cuh"
#include "typenet/backend/kernels.hpp"

namespace typenet::cuda_kernels {

namespace detail {

struct PoolIndex {
    FastDivmod channels, out_w, out_h;
    std::uint32_t in_h, in_w, pool_h, pool_w, stride_h, stride_w, in_size, out_size;

    explicit PoolIndex(const PoolGeometry& g)
        : channels(g.channels), out_w(g.out_w), out_h(g.out_h), in_h(static_cast<std::uint32_t>(g.in_h)),
          in_w(static_cast<std::uint32_t>(g.in_w)), pool_h(static_cast<std::uint32_t>(g.pool_h)),
          pool_w(static_cast<std::uint32_t>(g.pool_w)), stride_h(static_cast<std::uint32_t>(g.stride_h)),
          stride_w(static_cast<std::uint32_t>(g.stride_w)), in_size(static_cast<std::uint32_t>(g.in_size())),
          out_size(static_cast<std::uint32_t>(g.out_size())) {}
};

// One thread per output value (n, oy, ox, c).
template <class T = float>
__global__ void maxpool_forward_kernel(const T* x, T* y, std::int32_t* argmax, std::uint32_t count, PoolIndex g) {
    for (std::uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < count; i += gridDim.x * blockDim.x) {
        std::uint32_t c, ox, oy;
        const std::uint32_t pixel = g.channels.divmod(i, c);
        const std::uint32_t rest = g.out_w.divmod(pixel, ox);
        const std::uint32_t n = g.out_h.divmod(rest, oy);
        const T* image = x + static_cast<std::size_t>(n) * g.in_size;
        const std::uint32_t channels = g.channels.divisor;
        float best = -INFINITY;
        std::uint32_t where = 0;
        for (std::uint32_t py = 0; py < g.pool_h; ++py)
            for (std::uint32_t px = 0; px < g.pool_w; ++px) {
                const std::uint32_t at = ((oy * g.stride_h + py) * g.in_w + ox * g.stride_w + px) * channels + c;
                const float v = image[at];
                if (v > best || (py == 0 && px == 0)) {  // first maximum wins ties
                    best = v;
                    where = at;
                }
            }
        y[i] = best;
        argmax[i] = static_cast<std::int32_t>(where);
    }
}

// dx[n, argmax] += dy: a scatter; windows that overlap (stride < pool) may send two
// gradients to one pixel, hence the atomic add (exact for non-overlapping windows).
template <class T = float>
__global__ void maxpool_backward_kernel(const T* dy, const std::int32_t* argmax, T* dx, std::uint32_t count,
                                        FastDivmod out_size, std::uint32_t in_size) {
    for (std::uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < count; i += gridDim.x * blockDim.x) {
        const std::uint32_t n = out_size.div(i);
        atomicAdd(dx + static_cast<std::size_t>(n) * in_size + argmax[i], dy[i]);
    }
}

}  // namespace detail

inline void maxpool_forward(const PoolGeometry& g, const float* x, std::size_t batch, float* y,
                            std::int32_t* argmax) {
    const std::size_t count = batch * g.out_size();
    if (count == 0) return;
    require_32_bits(count, "maxpool_forward");
    require_32_bits(batch * g.in_size(), "maxpool_forward input");
    detail::maxpool_forward_kernel<<<blocks_for(count), threads_per_block, 0, cuda_context().stream()>>>(
        x, y, argmax, static_cast<std::uint32_t>(count), detail::PoolIndex(g));
    check_launch("maxpool_forward");
}

inline void maxpool_backward(const PoolGeometry& g, const float* dy, const std::int32_t* argmax, std::size_t batch,
                             float* dx) {
    if (batch == 0) return;
    CudaContext& context = cuda_context();
    check_cuda(cudaMemsetAsync(dx, 0, batch * g.in_size() * sizeof(float), context.stream()),
               "maxpool_backward (cudaMemsetAsync)");
    const std::size_t count = batch * g.out_size();
    if (count == 0) return;
    require_32_bits(batch * g.in_size(), "maxpool_backward");
    detail::maxpool_backward_kernel<<<blocks_for(count), threads_per_block, 0, context.stream()>>>(
        dy, argmax, dx, static_cast<std::uint32_t>(count), FastDivmod(g.out_size()),
        static_cast<std::uint32_t>(g.in_size()));
    check_launch("maxpool_backward");
}

}  // namespace typenet::cuda_kernels
