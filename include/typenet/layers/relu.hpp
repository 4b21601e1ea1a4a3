// typenet/layers/relu.hpp
// Keras's ReLU layer: tn::ReLU written as a layer of its own is ReLU() ("re_lu_1");
// ReLUMax<max_value> is ReLU(max_value=...), ReLU6 = ReLUMax<6.0f> MobileNetV2's
// ReLU(6.). Name them with Named<"Conv1_relu", ReLU6>.
#pragma once

#include <cstddef>
#include <limits>

#include "typenet/backend/kernels.hpp"
#include "typenet/core/shape.hpp"
#include "typenet/layers/activations.hpp"
#include "typenet/layers/layer.hpp"

namespace typenet {

template <class In, class Device, FixedString Name, float MaxValue>
class ReLULayer : public LayerBase<In, In, Name, "ReLU", 0>, public NoParameters<Device> {
    static_assert(MaxValue > 0.0f, "ReLU: max_value must be positive (Keras: ReLU(max_value=6.))");

public:
    static constexpr bool ok = MaxValue > 0.0f;
    static constexpr float max_value = MaxValue;
    // Keras's ReLU() folds into a convolution + BatchNormalization before it in inference
    // (layers/fold_batch_norm.hpp), and so does ReLU(max_value=...), as a capped ReLU.
    static constexpr bool is_relu_activation = MaxValue == std::numeric_limits<float>::infinity();
    static constexpr bool is_capped_relu = !is_relu_activation;

    void forward(const float* x, float* y, std::size_t batch, Mode) {
        Kernels<Device>::relu_forward(x, y, batch * In::size, MaxValue);
    }
    void backward(const float* x, const float*, const float* dy, float* dx, std::size_t batch, bool) {
        if (dx != nullptr) Kernels<Device>::relu_backward(x, dy, dx, batch * In::size, MaxValue);
    }
};

template <float MaxValue, FixedString Name = "">
struct ReLUMax : SpecNames<"re_lu", Name> {
    template <class In, class Device, FixedString LayerName>
    using bind = ReLULayer<In, Device, LayerName, MaxValue>;
};

using ReLU6 = ReLUMax<6.0f>;

}  // namespace typenet
