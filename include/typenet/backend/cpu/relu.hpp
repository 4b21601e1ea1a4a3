// typenet/backend/cpu/relu.hpp
// The ReLU layer with a ceiling (Keras ReLU(max_value=6.), MobileNetV2's ReLU6). Its
// gradient follows the input, as tf.nn.relu6's does: dy where 0 < x < max_value.
// Both passes are memory-bound: contiguous blocks of 16K elements per task, each a
// vector loop (backend/cpu/simd.hpp), so a pass runs at memory speed.
#pragma once

#include <algorithm>
#include <cstddef>

#include "typenet/backend/cpu/parallel.hpp"
#include "typenet/backend/cpu/simd.hpp"

namespace typenet::cpu_kernels {

namespace relu_detail {

inline constexpr std::size_t block = 16384;  // elements per task: 64 KB read, 64 KB written

// min(max(v, 0), max_value) with NaN passing: both compares are false for NaN, and -0.0
// stays -0.0 (not < 0), as the one-element rule v < 0 ? 0 : (v > max ? max : v) does.
inline void clamp_block(const float* x, float* y, std::size_t count, float max_value) {
    simd::run([&]() TYPENET_SIMD {
        const simd::vfloat cap = simd::vfloat{} + max_value;
        for (std::size_t i = 0; i < count; i += simd::lanes) {
            const std::size_t width = std::min(simd::lanes, count - i);
            simd::vfloat v;
            simd::load_n(v, x + i, width);
            v = v < 0.0f ? simd::vfloat{} : v;
            v = v > cap ? cap : v;
            simd::store_n(y + i, v, width);
        }
    });
}

// dx = dy where 0 < x (and x < max_value when Capped), else 0; NaN x gives 0. Uncapped is
// the plain ReLU's rule, which passes dy at x = +inf too.
template <bool Capped>
inline void gradient_block(const float* x, const float* dy, float* dx, std::size_t count, float max_value) {
    simd::run([&]() TYPENET_SIMD {
        for (std::size_t i = 0; i < count; i += simd::lanes) {
            const std::size_t width = std::min(simd::lanes, count - i);
            simd::vfloat xv, dv;
            simd::load_n(xv, x + i, width);
            simd::load_n(dv, dy + i, width);
            if constexpr (Capped)
                simd::store_n(dx + i, ((xv > 0.0f) & (xv < max_value)) ? dv : simd::vfloat{}, width);
            else
                simd::store_n(dx + i, xv > 0.0f ? dv : simd::vfloat{}, width);
        }
    });
}

template <bool Capped>
inline void gradient(const float* x, const float* dy, float* dx, std::size_t count, float max_value) {
    parallel_for((count + block - 1) / block, [&](std::size_t part) {
        const std::size_t first = part * block;
        gradient_block<Capped>(x + first, dy + first, dx + first, std::min(block, count - first), max_value);
    }, block);
}

}  // namespace relu_detail

// y = min(max(x, 0), max_value) elementwise, NaN passes (max_value may be infinity).
inline void relu_forward(const float* x, float* y, std::size_t count, float max_value) {
    constexpr std::size_t block = relu_detail::block;
    parallel_for((count + block - 1) / block, [&](std::size_t part) {
        const std::size_t first = part * block;
        relu_detail::clamp_block(x + first, y + first, std::min(block, count - first), max_value);
    }, block);
}

// dx = dy where 0 < x < max_value, else 0 (NaN x gives 0).
inline void relu_backward(const float* x, const float* dy, float* dx, std::size_t count, float max_value) {
    relu_detail::gradient<true>(x, dy, dx, count, max_value);
}

// The plain ReLU's gradient, dx = dy where x > 0 (+inf included), else 0: what
// activation_backward runs for ActivationKind::relu (x is then the layer's output).
inline void relu_backward_uncapped(const float* x, const float* dy, float* dx, std::size_t count) {
    relu_detail::gradient<false>(x, dy, dx, count, 0.0f);
}

}  // namespace typenet::cpu_kernels
