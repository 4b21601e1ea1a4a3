// typenet/backend/cpu/merge.hpp
// What merging branches needs: a sum into an existing tensor (Add) and a copy of a run
// of channels between tensors with different channel counts (Concatenate, NHWC).
#pragma once

#include <cstddef>
#include <cstring>

#include "typenet/backend/cpu/parallel.hpp"

namespace typenet::cpu_kernels {

inline void accumulate(const float* src, float* dst, std::size_t count) {
    parallel_for(count, [&](std::size_t i) { dst[i] += src[i]; }, 2);
}

inline void copy_channels(const float* src, std::size_t src_channels, std::size_t src_offset, float* dst,
                          std::size_t dst_channels, std::size_t dst_offset, std::size_t width, std::size_t rows) {
    parallel_for(rows, [&](std::size_t r) {
        std::memcpy(dst + r * dst_channels + dst_offset, src + r * src_channels + src_offset, width * sizeof(float));
    }, width);
}

}  // namespace typenet::cpu_kernels
