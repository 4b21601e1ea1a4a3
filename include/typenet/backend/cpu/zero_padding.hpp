// typenet/backend/cpu/zero_padding.hpp
// ZeroPadding2D: copy each image into the interior of a zeroed frame; backward crops.
#pragma once

#include <cstddef>
#include <cstring>

#include "typenet/backend/cpu/parallel.hpp"
#include "typenet/backend/kernels.hpp"

namespace typenet::cpu_kernels {

inline void zero_pad_forward(const Pad2DGeometry& g, const float* x, std::size_t batch, float* y) {
    parallel_for(batch * g.out_h, [&](std::size_t row) {
        const std::size_t n = row / g.out_h, oy = row % g.out_h;
        float* out = y + n * g.out_size() + oy * g.out_w * g.channels;
        std::memset(out, 0, g.out_w * g.channels * sizeof(float));
        if (oy < g.top || oy - g.top >= g.in_h) return;
        const float* in = x + n * g.in_size() + (oy - g.top) * g.in_w * g.channels;
        std::memcpy(out + g.left * g.channels, in, g.in_w * g.channels * sizeof(float));
    }, g.out_w * g.channels);
}

inline void zero_pad_backward(const Pad2DGeometry& g, const float* dy, std::size_t batch, float* dx) {
    parallel_for(batch * g.in_h, [&](std::size_t row) {
        const std::size_t n = row / g.in_h, iy = row % g.in_h;
        const float* from = dy + n * g.out_size() + ((iy + g.top) * g.out_w + g.left) * g.channels;
        std::memcpy(dx + n * g.in_size() + iy * g.in_w * g.channels, from, g.in_w * g.channels * sizeof(float));
    }, g.in_w * g.channels);
}

}  // namespace typenet::cpu_kernels
