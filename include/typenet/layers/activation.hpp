// typenet/layers/activation.hpp
// Activation<Act, Name = "">: Keras's Activation layer, an activation on its own
// (Activation('relu')); Softmax acts along the last axis, as Keras's default axis=-1.
// Its activation is visible to the losses, so a closing Activation<Sigmoid> fuses with
// binary cross-entropy as a Dense<1, Sigmoid> does.
#pragma once

#include <cstddef>
#include <type_traits>

#include "typenet/backend/kernels.hpp"
#include "typenet/core/buffer.hpp"
#include "typenet/core/shape.hpp"
#include "typenet/layers/activations.hpp"
#include "typenet/layers/layer.hpp"

namespace typenet {

template <class In, class Device, FixedString Name, class Act>
class ActivationLayer : public LayerBase<In, In, Name, "Activation", 0, std::conditional_t<is_activation_v<Act>, Act, Linear>>,
                        public NoParameters<Device> {
    static_assert(is_activation_v<Act>,
                  "Activation: the argument must be an activation: tn::ReLU, tn::Sigmoid, tn::Softmax or tn::Linear");
    static constexpr std::size_t cols = dim_or_one<In, In::rank - 1>;  // the last axis

public:
    static constexpr bool ok = is_activation_v<Act>;
    static constexpr bool is_relu_activation = std::is_same_v<Act, ReLU>;  // folds into a convolution

    void forward(const float* x, float* y, std::size_t batch, Mode) {
        Kernels<Device>::copy(x, y, batch * In::size);
        Kernels<Device>::bias_activation(y, nullptr, batch * In::size / cols, cols, Act::kind);
    }
    void backward(const float*, const float* y, const float* dy, float* dx, std::size_t batch,
                  bool dy_is_preactivation) {
        if (dx == nullptr) return;
        if (dy_is_preactivation)
            Kernels<Device>::copy(dy, dx, batch * In::size);
        else
            Kernels<Device>::activation_backward(y, dy, dx, batch * In::size / cols, cols, Act::kind);
    }
};

template <class Act, FixedString Name = "">
struct Activation : SpecNames<"activation", Name> {
    template <class In, class Device, FixedString LayerName>
    using bind = ActivationLayer<In, Device, LayerName, Act>;
};

}  // namespace typenet
