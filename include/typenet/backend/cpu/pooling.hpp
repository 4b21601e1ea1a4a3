// typenet/backend/cpu/pooling.hpp
// Max pooling that remembers where each maximum came from, so backward is a scatter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

#include "typenet/backend/cpu/parallel.hpp"
#include "typenet/backend/kernels.hpp"

namespace typenet::cpu_kernels {

inline void maxpool_forward(const PoolGeometry& g, const float* x, std::size_t batch, float* y,
                            std::int32_t* argmax) {
    parallel_for(batch, [&](std::size_t n) {
        const float* image = x + n * g.in_size();
        float* out = y + n * g.out_size();
        std::int32_t* where = argmax + n * g.out_size();
        for (std::size_t oy = 0; oy < g.out_h; ++oy)
            for (std::size_t ox = 0; ox < g.out_w; ++ox) {
                float* o = out + (oy * g.out_w + ox) * g.channels;
                std::int32_t* w = where + (oy * g.out_w + ox) * g.channels;
                for (std::size_t c = 0; c < g.channels; ++c) o[c] = -std::numeric_limits<float>::infinity();
                for (std::size_t py = 0; py < g.pool_h; ++py)
                    for (std::size_t px = 0; px < g.pool_w; ++px) {
                        const std::size_t at = ((oy * g.stride_h + py) * g.in_w + ox * g.stride_w + px) * g.channels;
                        const float* in = image + at;
                        for (std::size_t c = 0; c < g.channels; ++c)
                            if (in[c] > o[c] || (py == 0 && px == 0)) {  // first maximum wins ties
                                o[c] = in[c];
                                w[c] = static_cast<std::int32_t>(at + c);
                            }
                    }
            }
    }, g.out_size() * g.pool_h * g.pool_w);
}

inline void maxpool_backward(const PoolGeometry& g, const float* dy, const std::int32_t* argmax,
                             std::size_t batch, float* dx) {
    parallel_for(batch, [&](std::size_t n) {
        float* image = dx + n * g.in_size();
        std::memset(image, 0, g.in_size() * sizeof(float));
        const float* d = dy + n * g.out_size();
        const std::int32_t* where = argmax + n * g.out_size();
        for (std::size_t i = 0; i < g.out_size(); ++i) image[where[i]] += d[i];
    }, g.out_size());
}

}  // namespace typenet::cpu_kernels
