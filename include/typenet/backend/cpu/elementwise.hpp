// typenet/backend/cpu/elementwise.hpp
// Bias, activations, their derivatives, dropout: one pass over contiguous memory each.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "typenet/backend/cpu/parallel.hpp"
#include "typenet/backend/cpu/relu.hpp"
#include "typenet/backend/cpu/relu_clamp.hpp"
#include "typenet/backend/cpu/simd.hpp"
#include "typenet/backend/kernels.hpp"
#include "typenet/backend/shared_math.hpp"
#include "typenet/core/random.hpp"

namespace typenet::cpu_kernels {

using shared_math::sigmoid;  // the GPU runs the same function

namespace detail {

// Row r of y gets bias and activation. Rows are independent, so callers split them.
inline void bias_activation_row(float* y, const float* bias, std::size_t cols, ActivationKind act) {
    if (bias != nullptr)
        for (std::size_t c = 0; c < cols; ++c) y[c] += bias[c];
    switch (act) {
        case ActivationKind::linear: break;
        case ActivationKind::relu:
            for (std::size_t c = 0; c < cols; ++c) y[c] = y[c] < 0.0f ? 0.0f : y[c];  // NaN passes
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

// y[r, c] = y[r, c] + bias[c], then ReLU (and its ceiling) if asked: vectorised over columns.
inline void bias_relu_rows(float* y, const float* bias, std::size_t rows, std::size_t cols, ReLUClamp relu) {
    if (bias == nullptr && !relu.on) return;
    simd::run([&]() TYPENET_SIMD {
        for (std::size_t r = 0; r < rows; ++r) {
            float* row = y + r * cols;
            for (std::size_t c = 0; c < cols; c += simd::lanes) {
                const std::size_t width = std::min(simd::lanes, cols - c);
                simd::vfloat v, b{};
                simd::load_n(v, row + c, width);
                if (bias != nullptr) simd::load_n(b, bias + c, width);
                v += b;
                apply_relu_clamp(relu, v);  // NaN passes, as in TensorFlow
                simd::store_n(row + c, v, width);
            }
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
        relu_backward_uncapped(y, dy, dz, rows * cols);
        return;
    }
    parallel_for(
        rows, [&](std::size_t r) { detail::activation_backward_row(y + r * cols, dy + r * cols, dz + r * cols, cols, act); },
        cols * 4);
}

inline void column_sums(const float* dz, std::size_t rows, std::size_t cols, float* sums) {
    // Sums of rows [r0, r1) for the columns [c, c + width), width <= 16, into `out`.
    auto sum_rows = [&](std::size_t c, std::size_t r0, std::size_t r1, float* out) {
        const std::size_t width = std::min<std::size_t>(16, cols - c);
        simd::run([&]() TYPENET_SIMD {
            simd::vfloat total{};
            for (std::size_t r = r0; r < r1; ++r) {
                simd::vfloat v;
                simd::load_n(v, dz + r * cols + c, width);
                total += v;
            }
            simd::store_n(out, total, width);
        });
    };
    const std::size_t blocks = (cols + 15) / 16;
    const std::size_t threads = static_cast<std::size_t>(cpu_threads());
    if (rows * cols < 65536 || threads < 2) {
        for (std::size_t b = 0; b < blocks; ++b) sum_rows(b * 16, 0, rows, sums + b * 16);
    } else if (blocks >= threads || cols > 64) {  // one block of 16 columns per task, down all rows
        parallel_tasks(blocks, [&](std::size_t b, unsigned) { sum_rows(b * 16, 0, rows, sums + b * 16); });
    } else {
        // Few columns (a first layer's 16 filters over 657k rows): split the rows too, into
        // at most 8 parts whose partial sums live on the stack.
        constexpr std::size_t most_parts = 8;
        const std::size_t parts = std::min(threads, most_parts);
        float partial[most_parts][64];
        parallel_tasks(parts * blocks, [&](std::size_t task, unsigned) {
            const std::size_t part = task / blocks, b = task % blocks;
            sum_rows(b * 16, rows * part / parts, rows * (part + 1) / parts, partial[part] + b * 16);
        });
        for (std::size_t c = 0; c < cols; ++c) {
            float total = 0.0f;
            for (std::size_t part = 0; part < parts; ++part) total += partial[part][c];
            sums[c] = total;
        }
    }
}

// `first`: the mask index of x[0] (a data-parallel rank's slice starts inside the global batch).
inline void dropout_forward(const float* x, float* y, std::size_t count, float rate, std::uint64_t seed,
                            std::uint64_t stream, std::uint64_t first) {
    const float scale = 1.0f / (1.0f - rate);
    parallel_for(count, [&](std::size_t i) {
        y[i] = hash_uniform(seed, stream, first + i) >= rate ? x[i] * scale : 0.0f;
    }, 16);
}

inline void dropout_backward(const float* dy, float* dx, std::size_t count, float rate, std::uint64_t seed,
                             std::uint64_t stream, std::uint64_t first) {
    dropout_forward(dy, dx, count, rate, seed, stream, first);  // the same mask and scale
}

inline void copy(const float* src, float* dst, std::size_t count) {
    if (count != 0 && src != dst) std::memcpy(dst, src, count * sizeof(float));
}

inline void fill(float* dst, std::size_t count, float value) { std::fill(dst, dst + count, value); }

}  // namespace typenet::cpu_kernels
