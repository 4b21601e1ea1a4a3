// typenet/backend/cpu/optimizer.hpp
// The optimizer steps on the CPU, one pass over a parameter buffer each. The float
// arithmetic follows Keras 2's expressions term by term (keras/optimizers.py), so a
// step agrees with Keras to float rounding.
#pragma once

#include <cmath>
#include <cstddef>

#include "typenet/backend/cpu/parallel.hpp"

namespace typenet::cpu_kernels {

// Elementwise updates are memory-bound: only buffers of 32768 values and more (a large
// Dense kernel) are worth a parallel region.
inline constexpr std::size_t update_cost_per_item = 1;

inline void sgd_update(float* w, const float* g, float* velocity, std::size_t count, float lr, float momentum,
                       bool nesterov) {
    if (momentum == 0.0f || velocity == nullptr) {
        parallel_for(count, [&](std::size_t i) { w[i] = w[i] - lr * g[i]; }, update_cost_per_item);
        return;
    }
    parallel_for(count, [&](std::size_t i) {
        const float v = momentum * velocity[i] - lr * g[i];
        velocity[i] = v;
        w[i] = nesterov ? w[i] + momentum * v - lr * g[i] : w[i] + v;
    }, update_cost_per_item);
}

inline void rmsprop_update(float* w, const float* g, float* accumulator, std::size_t count, float lr, float rho,
                           float epsilon) {
    const float one_minus_rho = 1.0f - rho;
    parallel_for(count, [&](std::size_t i) {
        const float a = rho * accumulator[i] + one_minus_rho * (g[i] * g[i]);
        accumulator[i] = a;
        w[i] = w[i] - lr * g[i] / (std::sqrt(a) + epsilon);
    }, update_cost_per_item);
}

inline void adam_update(float* w, const float* g, float* m, float* v, std::size_t count, float lr_t, float beta_1,
                        float beta_2, float epsilon) {
    const float one_minus_b1 = 1.0f - beta_1, one_minus_b2 = 1.0f - beta_2;
    parallel_for(count, [&](std::size_t i) {
        const float m_t = beta_1 * m[i] + one_minus_b1 * g[i];
        const float v_t = beta_2 * v[i] + one_minus_b2 * (g[i] * g[i]);
        m[i] = m_t;
        v[i] = v_t;
        w[i] = w[i] - lr_t * m_t / (std::sqrt(v_t) + epsilon);
    }, update_cost_per_item);
}

}  // namespace typenet::cpu_kernels
