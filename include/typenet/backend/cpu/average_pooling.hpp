// typenet/backend/cpu/average_pooling.hpp
// Average pooling, NHWC, on a ConvGeometry (filters = channels, kernel = pool): each
// output is the mean of its window's pixels that lie inside the input, so 'same'
// padding is left out of the count, as TensorFlow's avg_pool does. Global average
// pooling is the window that covers the whole image.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "typenet/backend/cpu/parallel.hpp"
#include "typenet/backend/kernels.hpp"

namespace typenet::cpu_kernels {

namespace avgpool_detail {
// The input range [begin, end) that output position `out` covers along one axis.
inline void window(std::size_t out, std::size_t stride, std::size_t pool, std::size_t pad, std::size_t size,
                   std::size_t& begin, std::size_t& end) {
    const std::size_t first = out * stride, last = out * stride + pool;  // in padded coordinates
    begin = first > pad ? first - pad : 0;
    end = std::min(last > pad ? last - pad : 0, size);
}
}  // namespace avgpool_detail

inline void avgpool_forward(const ConvGeometry& g, const float* x, std::size_t batch, float* y) {
    const std::size_t C = g.filters;
    parallel_for(batch * g.out_h, [&](std::size_t row) {
        const std::size_t n = row / g.out_h, oy = row % g.out_h;
        std::size_t y0, y1;
        avgpool_detail::window(oy, g.stride_h, g.kernel_h, g.pad_top, g.in_h, y0, y1);
        for (std::size_t ox = 0; ox < g.out_w; ++ox) {
            std::size_t x0, x1;
            avgpool_detail::window(ox, g.stride_w, g.kernel_w, g.pad_left, g.in_w, x0, x1);
            float* out = y + n * g.out_size() + (oy * g.out_w + ox) * C;
            std::fill(out, out + C, 0.0f);
            for (std::size_t iy = y0; iy < y1; ++iy)
                for (std::size_t ix = x0; ix < x1; ++ix) {
                    const float* in = x + n * g.in_size() + (iy * g.in_w + ix) * C;
                    for (std::size_t c = 0; c < C; ++c) out[c] += in[c];
                }
            const float inv = 1.0f / static_cast<float>((y1 - y0) * (x1 - x0));
            for (std::size_t c = 0; c < C; ++c) out[c] *= inv;
        }
    }, g.out_w * C * g.kernel_h * g.kernel_w);
}

inline void avgpool_backward(const ConvGeometry& g, const float* dy, std::size_t batch, float* dx) {
    const std::size_t C = g.filters;
    parallel_for(batch, [&](std::size_t n) {
        float* image = dx + n * g.in_size();
        std::memset(image, 0, g.in_size() * sizeof(float));
        for (std::size_t oy = 0; oy < g.out_h; ++oy) {
            std::size_t y0, y1;
            avgpool_detail::window(oy, g.stride_h, g.kernel_h, g.pad_top, g.in_h, y0, y1);
            for (std::size_t ox = 0; ox < g.out_w; ++ox) {
                std::size_t x0, x1;
                avgpool_detail::window(ox, g.stride_w, g.kernel_w, g.pad_left, g.in_w, x0, x1);
                const float* d = dy + n * g.out_size() + (oy * g.out_w + ox) * C;
                const float inv = 1.0f / static_cast<float>((y1 - y0) * (x1 - x0));
                for (std::size_t iy = y0; iy < y1; ++iy)
                    for (std::size_t ix = x0; ix < x1; ++ix) {
                        float* in = image + (iy * g.in_w + ix) * C;
                        for (std::size_t c = 0; c < C; ++c) in[c] += d[c] * inv;
                    }
            }
        }
    }, g.out_size() * g.kernel_h * g.kernel_w);
}

}  // namespace typenet::cpu_kernels
