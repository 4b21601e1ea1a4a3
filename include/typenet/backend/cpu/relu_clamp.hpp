// typenet/backend/cpu/relu_clamp.hpp
// What a CPU convolution does to its sums (bias added) before it stores them: nothing,
// ReLU max(v, 0), or ReLU with a ceiling min(max(v, 0), ceiling): Keras's ReLU(max_value=6.)
// after a Conv2D / DepthwiseConv2D + BatchNormalization, folded in for inference
// (layers/fold_batch_norm.hpp), so MobileNetV2's ReLU6 costs no pass of its own. It is
// made from a bool where only ReLU is meant, so the kernels that took `bool relu` are
// called as before.
#pragma once

#include <limits>

#include "typenet/backend/cpu/simd.hpp"

namespace typenet::cpu_kernels {

struct ReLUClamp {
    bool on = false;
    float ceiling = std::numeric_limits<float>::infinity();  // with `on` only

    constexpr ReLUClamp() = default;
    constexpr ReLUClamp(bool relu) : on(relu) {}  // NOLINT(google-explicit-constructor): the old `bool relu`
    constexpr ReLUClamp(bool relu, float max_value) : on(relu), ceiling(max_value) {}

    [[nodiscard]] constexpr bool capped() const { return on && ceiling < std::numeric_limits<float>::infinity(); }
};

// v = min(max(v, 0), ceiling) where asked. NaN passes (both compares are false for it) and
// -0 stays -0, as in TensorFlow's relu and relu6 and in cpu_kernels::relu_forward.
TYPENET_SIMD_INLINE void apply_relu_clamp(const ReLUClamp& clamp, simd::vfloat& v) {
    if (!clamp.on) return;
    v = v < 0.0f ? simd::vfloat{} : v;
    if (clamp.capped()) {
        const simd::vfloat cap = simd::vfloat{} + clamp.ceiling;
        v = v > cap ? cap : v;
    }
}

}  // namespace typenet::cpu_kernels
