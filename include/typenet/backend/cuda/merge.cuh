// typenet/backend/cuda/merge.cuh
// Add's sum and Concatenate's channel copies on the GPU (backend/cpu/merge.hpp).
#pragma once

#include <cstddef>

#include <cuda_runtime.h>

#include "typenet/backend/cuda/check.cuh"
#include "typenet/backend/cuda/context.cuh"
#include "typenet/backend/cuda/launch.cuh"

namespace typenet::cuda_kernels {

namespace detail {

template <class T = float>
__global__ void accumulate_kernel(const T* src, T* dst, std::size_t count) {
    for (std::size_t i = first_index(); i < count; i += grid_stride()) dst[i] += src[i];
}

template <class T = float>
__global__ void copy_channels_kernel(const T* src, std::size_t src_channels, std::size_t src_offset, T* dst,
                                     std::size_t dst_channels, std::size_t dst_offset, std::size_t width,
                                     std::size_t count) {
    for (std::size_t i = first_index(); i < count; i += grid_stride()) {
        const std::size_t r = i / width, c = i % width;
        dst[r * dst_channels + dst_offset + c] = src[r * src_channels + src_offset + c];
    }
}

}  // namespace detail

inline void accumulate(const float* src, float* dst, std::size_t count) {
    if (count == 0) return;
    detail::accumulate_kernel<<<blocks_for(count), threads_per_block, 0, cuda_context().stream()>>>(src, dst, count);
    check_launch("accumulate");
}

inline void copy_channels(const float* src, std::size_t src_channels, std::size_t src_offset, float* dst,
                          std::size_t dst_channels, std::size_t dst_offset, std::size_t width, std::size_t rows) {
    const std::size_t count = width * rows;
    if (count == 0) return;
    detail::copy_channels_kernel<<<blocks_for(count), threads_per_block, 0, cuda_context().stream()>>>(
        src, src_channels, src_offset, dst, dst_channels, dst_offset, width, count);
    check_launch("copy_channels");
}

}  // namespace typenet::cuda_kernels
