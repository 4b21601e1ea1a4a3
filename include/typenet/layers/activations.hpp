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

// An activation tag: its kind for the kernels, its Keras name.
template <ActivationKind Kind>
struct ActivationTag {
    static constexpr ActivationKind kind = Kind;
    static constexpr std::string_view name = activation_name(Kind);
};

struct Linear : ActivationTag<ActivationKind::linear> {};
struct ReLU : ActivationTag<ActivationKind::relu> {

    // Written as a layer of its own, ReLU is Keras's ReLU() layer (layers/relu.hpp).
    static constexpr FixedString auto_prefix = "re_lu";
    static constexpr FixedString explicit_name = "";
    template <class In, class Device, FixedString LayerName>
    using bind = ReLULayer<In, Device, LayerName, std::numeric_limits<float>::infinity()>;
};
struct Sigmoid : ActivationTag<ActivationKind::sigmoid> {};
struct Softmax : ActivationTag<ActivationKind::softmax> {};

template <class T>
inline constexpr bool is_activation_v =
    std::is_same_v<T, Linear> || std::is_same_v<T, ReLU> || std::is_same_v<T, Sigmoid> || std::is_same_v<T, Softmax>;

}  // namespace typenet
