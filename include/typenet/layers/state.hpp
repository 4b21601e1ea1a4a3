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

namespace typenet {

template <class Device>
struct StateVariable {
    std::string_view name;
    std::vector<std::size_t> shape;
    Buffer<Device> value;

    StateVariable(std::string_view name_, std::vector<std::size_t> shape_) : name(name_), shape(std::move(shape_)) {
        value.ensure_zeroed(size());
    }

    [[nodiscard]] std::size_t size() const {
        return std::accumulate(shape.begin(), shape.end(), std::size_t{1}, std::multiplies<>());
    }
    [[nodiscard]] std::string shape_string() const {
        std::string text = "(";
        for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
        return text + (shape.size() == 1 ? ",)" : ")");
    }
    [[nodiscard]] std::vector<float> values() const {
        std::vector<float> host(size());
        value.download(host.data(), host.size());
        return host;
    }
    void set_values(const std::vector<float>& host) { value.upload(host.data(), host.size()); }
    void fill(float v) { set_values(std::vector<float>(size(), v)); }
};

template <class Layer>
concept HasState = requires(Layer& layer) { layer.state(); };

}  // namespace typenet
