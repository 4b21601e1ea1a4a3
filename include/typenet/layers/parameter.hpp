// typenet/layers/parameter.hpp
// A trainable tensor of a layer: its value and gradient on the layer's device, and
// its Keras name and layout ("kernel" (kh, kw, cin, cout), "bias" (cout,)).
#pragma once

#include <cmath>
#include <cstddef>
#include <functional>
#include <numeric>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "typenet/core/buffer.hpp"
#include "typenet/core/random.hpp"

namespace typenet {

// What every tensor a layer owns has: its Keras name and shape, its value on the layer's
// device, and host copies. Parameter adds a gradient; StateVariable (state.hpp) adds nothing.
template <class Device>
struct Variable {
    std::string_view name;
    std::vector<std::size_t> shape;
    Buffer<Device> value;

    Variable(std::string_view name_, std::vector<std::size_t> shape_) : name(name_), shape(std::move(shape_)) {
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
    // Host copies, whatever the device.
    [[nodiscard]] std::vector<float> values() const {
        std::vector<float> host(size());
        value.download(host.data(), host.size());
        return host;
    }
    void set_values(const std::vector<float>& host) { value.upload(host.data(), host.size()); }
};

template <class Device>
struct Parameter : Variable<Device> {
    Buffer<Device> grad;

    Parameter(std::string_view name_, std::vector<std::size_t> shape_) : Variable<Device>(name_, std::move(shape_)) {
        grad.ensure_zeroed(this->size());
    }

    [[nodiscard]] std::vector<float> gradients() const {
        std::vector<float> host(this->size());
        grad.download(host.data(), host.size());
        return host;
    }
};

// Keras's glorot_uniform: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)).
inline std::vector<float> glorot_uniform(std::size_t count, std::size_t fan_in, std::size_t fan_out, Random& rng) {
    const float limit = std::sqrt(6.0f / static_cast<float>(fan_in + fan_out));
    std::vector<float> values(count);
    for (float& v : values) v = rng.uniform(-limit, limit);
    return values;
}

}  // namespace typenet
