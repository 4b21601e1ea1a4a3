// typenet/layers/dense.hpp
// Dense<units, Activation = Linear, Name = "">: y = act(x W + b), W (in, units) as Keras,
// glorot_uniform kernel, zero bias. Its input must be flat: put Flatten before it.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <type_traits>

#include "typenet/backend/kernels.hpp"
#include "typenet/core/buffer.hpp"
#include "typenet/core/precision.hpp"
#include "typenet/core/shape.hpp"
#include "typenet/layers/activations.hpp"
#include "typenet/layers/kernel_and_bias.hpp"
#include "typenet/layers/layer.hpp"
#include "typenet/layers/parameter.hpp"

namespace typenet {

template <class In, class Device, FixedString Name, std::size_t Units, class Act>
class DenseLayer;

template <std::size_t Units, class Activation = Linear, FixedString Name = "">
struct Dense {
    static constexpr FixedString auto_prefix = "dense";
    static constexpr FixedString explicit_name = Name;

    template <class In, class Device, FixedString LayerName>
    using bind = DenseLayer<In, Device, LayerName, Units, Activation>;
};

template <class In, class Device, FixedString Name, std::size_t Units, class Act>
class DenseLayer : public LayerBase<In, Shape<Units>, Name, "Dense", (In::size + 1) * Units,
                                    std::conditional_t<is_activation_v<Act>, Act, Linear>>,
                   public KernelAndBias<Device, true> {
    static constexpr bool spec_ok = is_activation_v<Act> && Units > 0;
    static constexpr bool rank_ok = In::rank == 1;

public:
    // The rules sit in a function body, so a broken one is one error under every compiler
    // (a failed static_assert at class scope makes clang discard the class and cascade;
    // docs/architecture.md, "One mistake, one error").
    static constexpr bool ok = [] {
        static_assert(is_activation_v<Act>,
                      "Dense: the second argument must be an activation: tn::ReLU, tn::Sigmoid, tn::Softmax or "
                      "tn::Linear");
        static_assert(!is_activation_v<Act> || Units > 0, "Dense: units must be at least 1");
        static_assert(!spec_ok || rank_ok,
                      "Dense needs a flat input, but its input has several axes (the instantiation above names the "
                      "layer and its input Shape): put Flatten before it");
        return spec_ok && rank_ok;
    }();
    static constexpr std::size_t units = Units, in_features = In::size;

    using weights = KernelAndBias<Device, true>;
    using weights::bias;
    using weights::kernel;

    DenseLayer() : weights("kernel", {In::size, Units}, Units) {}

    void initialize(Random& rng) {
        this->initialize_glorot_uniform(in_features, Units, rng);
    }

    void forward(const float* x, float* y, std::size_t batch, Mode mode) {
        if constexpr (std::is_same_v<Device, cpu>)
            if (bf16_inference<Device>(mode))  // opt-in, core/precision.hpp
                return Kernels<Device>::dense_forward_bf16(x, batch, in_features, Units, kernel().value.data(),
                                                           bias().value.data(), y, Act::kind);
        Kernels<Device>::gemm(false, false, batch, Units, in_features, 1.0f, x, in_features, kernel().value.data(),
                              Units, 0.0f, y, Units);
        Kernels<Device>::bias_activation(y, bias().value.data(), batch, Units, Act::kind);
    }

    void backward(const float* x, const float* y, const float* dy, float* dx, std::size_t batch,
                  bool dy_is_preactivation) {
        const float* dz = this->preactivation_gradient(y, dy, batch, Units, Act::kind, dy_is_preactivation);
        if (this->trainable) {
            Kernels<Device>::gemm(true, false, in_features, Units, batch, 1.0f, x, in_features, dz, Units, 0.0f,
                                  kernel().grad.data(), Units);
            Kernels<Device>::column_sums(dz, batch, Units, bias().grad.data());
        }
        if (dx != nullptr)
            Kernels<Device>::gemm(false, true, batch, in_features, Units, 1.0f, dz, Units, kernel().value.data(), Units,
                                  0.0f, dx, in_features);
    }
};

}  // namespace typenet
