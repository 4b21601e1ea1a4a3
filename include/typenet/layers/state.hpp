// typenet/layers/state.hpp
// A layer's state that is not a weight: a tensor the layer updates itself (as
// BatchNormalization's moving_mean and moving_variance are), that no optimizer sees and
// no gradient reaches, but that weight files save and load beside the parameters and
// that Keras counts among the "Non-trainable params". Same face as Parameter (name,
// Keras shape, host copies), without a gradient.
//
// A layer with state has `state()` (a span of StateVariable) and a LayerBase whose
// StateCount says how many of its param_count values are state (HasState tells them
// apart from the layers without).
#pragma once

#include <cstddef>
#include <functional>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "typenet/core/buffer.hpp"
#include "typenet/layers/parameter.hpp"

namespace typenet {

template <class Device>
struct StateVariable : Variable<Device> {
    using Variable<Device>::Variable;
    void fill(float v) { this->set_values(std::vector<float>(this->size(), v)); }
};

template <class Layer>
concept HasState = requires(Layer& layer) { layer.state(); };

}  // namespace typenet
