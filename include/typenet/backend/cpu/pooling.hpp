// typenet/backend/cpu/pooling.hpp
// Max pooling that remembers where each maximum came from, so backward is a scatter.
// Sixteen channels at a time: NHWC keeps a pixel's channels together. Ties go to the
// first element of the window (row by row), and a NaN stays once it is the maximum,
// exactly as the one-channel-at-a-time loop this replaced.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "typenet/backend/cpu/parallel.hpp"
#include "typenet/backend/cpu/simd.hpp"
#include "typenet/backend/kernels.hpp"

namespace typenet::cpu_kernels {

namespace pool_detail {
typedef std::int32_t vint __attribute__((vector_size(64)));

TYPENET_SIMD_INLINE void store_index(std::int32_t* p, const vint& v, std::size_t count) {
    if (count == simd::lanes)
        std::memcpy(p, &v, sizeof v);
    else
        std::memcpy(p, &v, count * sizeof(std::int32_t));
}
}  // namespace pool_detail

inline void maxpool_forward(const PoolGeometry& g, const float* x, std::size_t batch, float* y,
                            std::int32_t* argmax) {
    const std::size_t C = g.channels;
    parallel_for(batch * g.out_h, [&](std::size_t row) {
        const std::size_t n = row / g.out_h, oy = row % g.out_h;
        const float* image = x + n * g.in_size();
        simd::run([&]() TYPENET_SIMD {
            using pool_detail::vint;
            vint lane{};
            for (std::size_t i = 0; i < simd::lanes; ++i) lane[i] = static_cast<std::int32_t>(i);
            for (std::size_t ox = 0; ox < g.out_w; ++ox) {
                const std::size_t out_at = n * g.out_size() + (oy * g.out_w + ox) * C;
                for (std::size_t c = 0; c < C; c += simd::lanes) {
                    const std::size_t width = std::min(simd::lanes, C - c);
                    simd::vfloat best{};
                    vint where{};
                    for (std::size_t py = 0; py < g.pool_h; ++py)
                        for (std::size_t px = 0; px < g.pool_w; ++px) {
                            const std::size_t at = ((oy * g.stride_h + py) * g.in_w + ox * g.stride_w + px) * C + c;
                            simd::vfloat v;
                            simd::load_n(v, image + at, width);
                            const vint index = lane + static_cast<std::int32_t>(at);
                            if (py == 0 && px == 0) {
                                best = v;
                                where = index;
                            } else {
                                const vint wins = v > best;
                                best = wins ? v : best;
                                where = wins ? index : where;
                            }
                        }
                    simd::store_n(y + out_at + c, best, width);
                    pool_detail::store_index(argmax + out_at + c, where, width);
                }
            }
        });
    }, g.out_w * C * g.pool_h * g.pool_w);
}

inline void maxpool_backward(const PoolGeometry& g, const float* dy, const std::int32_t* argmax,
                             std::size_t batch, float* dx) {
    parallel_for(batch, [&](std::size_t n) {
        float* image = dx + n * g.in_size();
        std::memset(image, 0, g.in_size() * sizeof(float));
        const float* d = dy + n * g.out_size();
        const std::int32_t* where = argmax + n * g.out_size();
        for (std::size_t i = 0; i < g.out_size(); ++i) image[where[i]] += d[i];
    }, g.out_size() * 4);
}

}  // namespace typenet::cpu_kernels
