// typenet/layers/activations.hpp
// Activation tags, used as template arguments: Dense<512, ReLU>. Each knows its
// Keras name and the kernel switch that computes it on any device.
#pragma once

#include <cstddef>
#include <limits>
#include <string_view>
#include <type_traits>

#include "typenet/backend/kernels.hpp"
#include "typenet/core/fixed_string.hpp"

namespace typenet {

template <class In, class Device, FixedString Name, float MaxValue>
class ReLULayer;  // layers/relu.hpp

struct Linear {
    static constexpr ActivationKind kind = ActivationKind::linear;
    static constexpr std::string_view name = "linear";
};
struct ReLU {
    static constexpr ActivationKind kind = ActivationKind::relu;
    static constexpr std::string_view name = "relu";

    // Written as a layer of its own, ReLU is Keras's ReLU() layer (layers/relu.hpp).
    static constexpr FixedString auto_prefix = "re_lu";
    static constexpr FixedString explicit_name = "";
    template <class In, class Device, FixedString LayerName>
    using bind = ReLULayer<In, Device, LayerName, std::numeric_limits<float>::infinity()>;
};
struct Sigmoid {
    static constexpr ActivationKind kind = ActivationKind::sigmoid;
    static constexpr std::string_view name = "sigmoid";
};
struct Softmax {
    static constexpr ActivationKind kind = ActivationKind::softmax;
    static constexpr std::string_view name = "softmax";
};

template <class T>
inline constexpr bool is_activation_v =
    std::is_same_v<T, Linear> || std::is_same_v<T, ReLU> || std::is_same_v<T, Sigmoid> || std::is_same_v<T, Softmax>;

}  // namespace typenet
