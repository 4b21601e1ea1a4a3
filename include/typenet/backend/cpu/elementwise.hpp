// typenet/backend/cpu/elementwise.hpp
// Bias, activations, their derivatives, dropout: one pass over contiguous memory each.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "typenet/backend/cpu/parallel.hpp"
#include "typenet/backend/cpu/simd.hpp"
#include "typenet/backend/kernels.hpp"
#include "typenet/core/random.hpp"

namespace typenet::cpu_kernels {

inline float sigmoid(float z) {
    // Stable on both sides: exp never overflows.
    if (z >= 0) return 1.0f / (1.0f + std::exp(-z));
    const float e = std::exp(z);
    return e / (1.0f + e);
}

namespace detail {

// Row r of y gets bias and activation. Rows are independent, so callers split them.
inline void bias_activation_row(float* y, const float* bias, std::size_t cols, ActivationKind act) {
    if (bias != nullptr)
        for (std::size_t c = 0; c < cols; ++c) y[c] += bias[c];
    switch (act) {
        case ActivationKind::linear: break;
        case ActivationKind::relu:
            for (std::size_t c = 0; c < cols; ++c) y[c] = y[c] > 0.0f ? y[c] : 0.0f;
            break;
        case ActivationKind::sigmoid:
            for (std::size_t c = 0; c < cols; ++c) y[c] = sigmoid(y[c]);
            break;
        case ActivationKind::softmax: {
            float peak = y[0];
            for (std::size_t c = 1; c < cols; ++c) peak = std::max(peak, y[c]);
            float total = 0.0f;
            for (std::size_t c = 0; c < cols; ++c) total += (y[c] = std::exp(y[c] - peak));
            const float inv = 1.0f / total;
            for (std::size_t c = 0; c < cols; ++c) y[c] *= inv;
            break;
        }
    }
}

inline void activation_backward_row(const float* y, const float* dy, float* dz, std::size_t cols,
                                    ActivationKind act) {
    switch (act) {
        case ActivationKind::linear:
            if (dz != dy) std::memcpy(dz, dy, cols * sizeof(float));
            break;
        case ActivationKind::relu:
            for (std::size_t c = 0; c < cols; ++c) dz[c] = y[c] > 0.0f ? dy[c] : 0.0f;
            break;
        case ActivationKind::sigmoid:
            for (std::size_t c = 0; c < cols; ++c) dz[c] = dy[c] * y[c] * (1.0f - y[c]);
            break;
        case ActivationKind::softmax: {
            float dot = 0.0f;
            for (std::size_t c = 0; c < cols; ++c) dot += dy[c] * y[c];
            for (std::size_t c = 0; c < cols; ++c) dz[c] = y[c] * (dy[c] - dot);
            break;
        }
    }
}

// y[r, c] = y[r, c] + bias[c], then ReLU if asked: vectorised over columns.
inline void bias_relu_rows(float* y, const float* bias, std::size_t rows, std::size_t cols, bool relu) {
    if (bias == nullptr && !relu) return;
    simd::run([&]() TYPENET_SIMD {
        for (std::size_t r = 0; r < rows; ++r) {
            float* row = y + r * cols;
            for (std::size_t c = 0; c < cols; c += simd::lanes) {
                const std::size_t width = std::min(simd::lanes, cols - c);
                simd::vfloat v, b{};
                simd::load_n(v, row + c, width);
                if (bias != nullptr) simd::load_n(b, bias + c, width);
                v += b;
                if (relu) v = v > 0.0f ? v : simd::vfloat{};
                simd::store_n(row + c, v, width);
            }
        }
    });
}

// dz[i] = y[i] > 0 ? dy[i] : 0 over a flat range.
inline void relu_backward_flat(const float* y, const float* dy, float* dz, std::size_t count) {
    simd::run([&]() TYPENET_SIMD {
        for (std::size_t i = 0; i < count; i += simd::lanes) {
            const std::size_t width = std::min(simd::lanes, count - i);
            simd::vfloat yv, dv;
            simd::load_n(yv, y + i, width);
            simd::load_n(dv, dy + i, width);
            simd::store_n(dz + i, yv > 0.0f ? dv : simd::vfloat{}, width);
        }
    });
}

}  // namespace detail

inline void bias_activation(float* y, const float* bias, std::size_t rows, std::size_t cols, ActivationKind act) {
    if (bias == nullptr && act == ActivationKind::linear) return;
    if (act == ActivationKind::linear || act == ActivationKind::relu) {
        const bool relu = act == ActivationKind::relu;
        const std::size_t chunk = std::max<std::size_t>(1, 16384 / std::max<std::size_t>(cols, 1));  // rows per task
        parallel_for((rows + chunk - 1) / chunk, [&](std::size_t part) {
            const std::size_t first = part * chunk;
            detail::bias_relu_rows(y + first * cols, bias, std::min(chunk, rows - first), cols, relu);
        }, chunk * cols);
        return;
    }
    parallel_for(rows, [&](std::size_t r) { detail::bias_activation_row(y + r * cols, bias, cols, act); }, cols * 4);
}

inline void activation_backward(const float* y, const float* dy, float* dz, std::size_t rows, std::size_t cols,
                                ActivationKind act) {
    if (act == ActivationKind::linear && dz == dy) return;
    if (act == ActivationKind::relu) {
        const std::size_t count = rows * cols, chunk = 16384;
        parallel_for((count + chunk - 1) / chunk, [&](std::size_t part) {
            const std::size_t first = part * chunk;
            detail::relu_backward_flat(y + first, dy + first, dz + first, std::min(chunk, count - first));
        }, chunk);
        return;
    }
    parallel_for(
        rows, [&](std::size_t r) { detail::activation_backward_row(y + r * cols, dy + r * cols, dz + r * cols, cols, act); },
        cols * 4);
}

inline void column_sums(const float* dz, std::size_t rows, std::size_t cols, float* sums) {
    // One block of 16 columns per task, summed down all rows (vectorised, one pass).
    const std::size_t blocks = (cols + 15) / 16;
    auto sum_block = [&](std::size_t block) {
        const std::size_t c = block * 16, width = std::min<std::size_t>(16, cols - c);
        simd::run([&]() TYPENET_SIMD {
            simd::vfloat total{};
            for (std::size_t r = 0; r < rows; ++r) {
                simd::vfloat v;
                simd::load_n(v, dz + r * cols + c, width);
                total += v;
            }
            simd::store_n(sums + c, total, width);
        });
    };
    if (blocks > 1 && rows * cols >= 65536)
        parallel_tasks(blocks, [&](std::size_t block, unsigned) { sum_block(block); });
    else
        for (std::size_t block = 0; block < blocks; ++block) sum_block(block);
}

inline void dropout_forward(const float* x, float* y, std::size_t count, float rate, std::uint64_t seed,
                            std::uint64_t stream) {
    const float scale = 1.0f / (1.0f - rate);
    parallel_for(count, [&](std::size_t i) {
        y[i] = hash_uniform(seed, stream, i) >= rate ? x[i] * scale : 0.0f;
    }, 16);
}

inline void dropout_backward(const float* dy, float* dx, std::size_t count, float rate, std::uint64_t seed,
                             std::uint64_t stream) {
    dropout_forward(dy, dx, count, rate, seed, stream);  // the same mask and scale
}

inline void copy(const float* src, float* dst, std::size_t count) {
    if (count != 0 && src != dst) std::memcpy(dst, src, count * sizeof(float));
}

inline void fill(float* dst, std::size_t count, float value) { std::fill(dst, dst + count, value); }

}  // namespace typenet::cpu_kernels
