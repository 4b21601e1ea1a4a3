// typenet/backend/cpu/relu.hpp
// The ReLU layer with a ceiling (Keras ReLU(max_value=6.), MobileNetV2's ReLU6). Its
// gradient follows the input, as tf.nn.relu6's does: dy where 0 < x < max_value.
#pragma once

#include <cstddef>

#include "typenet/backend/cpu/parallel.hpp"

namespace typenet::cpu_kernels {

inline void relu_forward(const float* x, float* y, std::size_t count, float max_value) {
    parallel_for(count, [&](std::size_t i) {
        const float v = x[i];
        y[i] = v < 0.0f ? 0.0f : (v > max_value ? max_value : v);  // NaN passes
    }, 4);
}

inline void relu_backward(const float* x, const float* dy, float* dx, std::size_t count, float max_value) {
    parallel_for(count, [&](std::size_t i) { dx[i] = (x[i] > 0.0f && x[i] < max_value) ? dy[i] : 0.0f; }, 4);
}

}  // namespace typenet::cpu_kernels
