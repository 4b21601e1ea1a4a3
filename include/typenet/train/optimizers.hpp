// typenet/train/optimizers.hpp
// Keras 2's optimizers, with Keras 2's defaults (keras/optimizers.py, Keras 2.2):
//
//   tn::RMSprop{.learning_rate = 1e-4f}     a = rho a + (1 - rho) g^2;  w -= lr g / (sqrt(a) + eps)
//   tn::SGD{.learning_rate = 0.01f, .momentum = 0.9f, .nesterov = true}
//   tn::Adam{}                               lr_t = lr sqrt(1 - b2^t) / (1 - b1^t);
//                                            w -= lr_t m / (sqrt(v) + eps)
//
// `decay` is Keras 2's time-based decay: the rate used at step i (0-based) is
// lr / (1 + decay * i). Epsilon sits outside the square root, as in Keras 2 (not
// inside, as TensorFlow's own RMSProp kernel has it).
//
// An optimizer is a value of hyperparameters; its state (momenta, moving averages) is
// held by the Trainer, one set of device buffers per parameter, allocated on the first
// step that trains the parameter. apply() runs the device's update kernel on one
// parameter with that state.
#pragma once

#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "typenet/backend/kernels.hpp"
#include "typenet/core/buffer.hpp"
#include "typenet/layers/parameter.hpp"

namespace typenet {

namespace detail {
inline void require(bool ok, std::string_view optimizer, std::string_view rule) {
    if (!ok) throw std::invalid_argument(std::string(optimizer) + ": " + std::string(rule));
}
// Keras 2: lr * (1 / (1 + decay * iterations)), iterations counted before this step.
inline float decayed(float learning_rate, float decay, std::uint64_t iterations) {
    if (decay <= 0.0f) return learning_rate;
    return learning_rate * (1.0f / (1.0f + decay * static_cast<float>(iterations)));
}
}  // namespace detail

struct SGD {
    float learning_rate = 0.01f;
    float momentum = 0.0f;
    bool nesterov = false;
    float decay = 0.0f;

    static constexpr std::string_view name = "SGD";

    void validate() const {
        detail::require(learning_rate >= 0.0f, name, "learning_rate must be >= 0");
        detail::require(momentum >= 0.0f, name, "momentum must be >= 0");
        detail::require(decay >= 0.0f, name, "decay must be >= 0");
    }
    // State buffers per parameter: the velocity, when there is momentum.
    [[nodiscard]] std::size_t slot_count() const { return momentum > 0.0f ? 1 : 0; }

    template <class Device>
    void apply(std::uint64_t iterations, Parameter<Device>& p, std::span<Buffer<Device>> slots) const {
        const float lr = detail::decayed(learning_rate, decay, iterations);
        float* velocity = slot_count() != 0 ? slots[0].data() : nullptr;
        Kernels<Device>::sgd_update(p.value.data(), p.grad.data(), velocity, p.size(), lr, momentum, nesterov);
    }
};

struct RMSprop {
    float learning_rate = 1e-3f;
    float rho = 0.9f;
    float epsilon = 1e-7f;
    float decay = 0.0f;

    static constexpr std::string_view name = "RMSprop";

    void validate() const {
        detail::require(learning_rate >= 0.0f, name, "learning_rate must be >= 0");
        detail::require(rho >= 0.0f && rho < 1.0f, name, "rho must be in [0, 1)");
        detail::require(epsilon >= 0.0f, name, "epsilon must be >= 0");
        detail::require(decay >= 0.0f, name, "decay must be >= 0");
    }
    // The moving average of g^2.
    [[nodiscard]] std::size_t slot_count() const { return 1; }

    template <class Device>
    void apply(std::uint64_t iterations, Parameter<Device>& p, std::span<Buffer<Device>> slots) const {
        const float lr = detail::decayed(learning_rate, decay, iterations);
        Kernels<Device>::rmsprop_update(p.value.data(), p.grad.data(), slots[0].data(), p.size(), lr, rho, epsilon);
    }
};

struct Adam {
    float learning_rate = 1e-3f;
    float beta_1 = 0.9f;
    float beta_2 = 0.999f;
    float epsilon = 1e-7f;
    float decay = 0.0f;

    static constexpr std::string_view name = "Adam";

    void validate() const {
        detail::require(learning_rate >= 0.0f, name, "learning_rate must be >= 0");
        detail::require(beta_1 >= 0.0f && beta_1 < 1.0f, name, "beta_1 must be in [0, 1)");
        detail::require(beta_2 >= 0.0f && beta_2 < 1.0f, name, "beta_2 must be in [0, 1)");
        detail::require(epsilon >= 0.0f, name, "epsilon must be >= 0");
        detail::require(decay >= 0.0f, name, "decay must be >= 0");
    }
    // First and second moments.
    [[nodiscard]] std::size_t slot_count() const { return 2; }

    // The bias-corrected rate of step t = iterations + 1, in float as Keras computes it.
    [[nodiscard]] float corrected_rate(std::uint64_t iterations) const {
        const float lr = detail::decayed(learning_rate, decay, iterations);
        const float t = static_cast<float>(iterations + 1);
        return lr * (std::sqrt(1.0f - std::pow(beta_2, t)) / (1.0f - std::pow(beta_1, t)));
    }

    template <class Device>
    void apply(std::uint64_t iterations, Parameter<Device>& p, std::span<Buffer<Device>> slots) const {
        Kernels<Device>::adam_update(p.value.data(), p.grad.data(), slots[0].data(), slots[1].data(), p.size(),
                                     corrected_rate(iterations), beta_1, beta_2, epsilon);
    }
};

template <class O>
concept Optimizer = requires(const O& o) {
    { O::name } -> std::convertible_to<std::string_view>;
    { o.slot_count() } -> std::convertible_to<std::size_t>;
    o.validate();
};

}  // namespace typenet
