// tests/core/custom_layer/prelu.hpp
// A layer written outside the library, as a user would: Keras's PReLU with one slope per
// channel (the last axis; Keras's PReLU(shared_axes=[1, ..., rank-1])):
//   y = x            where x > 0
//   y = alpha[c] x   elsewhere,   alpha initialised to zeros as Keras does.
// docs/layers.md walks through it; tests/core/test_user_layer.cpp trains and
// gradient-checks it. It runs on the CPU only: its loops read host memory.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <type_traits>
#include <vector>

#include "typenet/core/device.hpp"
#include "typenet/core/fixed_string.hpp"
#include "typenet/core/random.hpp"
#include "typenet/core/shape.hpp"
#include "typenet/layers/layer.hpp"
#include "typenet/layers/parameter.hpp"

namespace my_layers {

namespace tn = typenet;

// 1. The bound layer: the spec below bound to an input shape, a device and a name.
//    LayerBase gives the static face (shapes, names, param_count, the trainable flag).
template <class In, class Device, tn::FixedString Name>
class PReLULayer : public tn::LayerBase<In, In, Name, "PReLU", In::dims[In::rank - 1]> {
public:
    static constexpr std::size_t channels = In::dims[In::rank - 1];

    // A rule the layer checks, in a function body so that breaking it is one error.
    static constexpr bool ok = [] {
        static_assert(std::is_same_v<Device, tn::cpu>, "PReLU (custom layer): runs on the CPU only");
        return std::is_same_v<Device, tn::cpu>;
    }();

    std::span<tn::Parameter<Device>> parameters() { return params_; }
    std::span<const tn::Parameter<Device>> parameters() const { return params_; }
    tn::Parameter<Device>& alpha() { return params_[0]; }

    void initialize(tn::Random&) { alpha().value.zero(); }

    void forward(const float* x, float* y, std::size_t batch, tn::Mode) {
        const float* a = alpha().value.data();
        for (std::size_t i = 0; i < batch * In::size; ++i) y[i] = x[i] > 0.0f ? x[i] : a[i % channels] * x[i];
    }

    // From dy = dL/dy: dL/dalpha[c] = sum of dy x where x <= 0 (when trainable), and
    // dx = dy where x > 0, alpha dy elsewhere (when asked for).
    void backward(const float* x, const float*, const float* dy, float* dx, std::size_t batch, bool) {
        const float* a = alpha().value.data();
        if (this->trainable) {
            float* da = alpha().grad.data();
            for (std::size_t c = 0; c < channels; ++c) da[c] = 0.0f;
            for (std::size_t i = 0; i < batch * In::size; ++i)
                if (x[i] <= 0.0f) da[i % channels] += dy[i] * x[i];
        }
        if (dx != nullptr)
            for (std::size_t i = 0; i < batch * In::size; ++i) dx[i] = x[i] > 0.0f ? dy[i] : a[i % channels] * dy[i];
    }

private:
    // Keras's weight shape: (1, ..., 1, channels).
    static std::vector<std::size_t> alpha_shape() {
        std::vector<std::size_t> shape(In::rank, 1);
        shape.back() = channels;
        return shape;
    }
    std::array<tn::Parameter<Device>, 1> params_{tn::Parameter<Device>{"alpha", alpha_shape()}};
};

// 2. The spec: what a user writes inside Sequential<...>.
template <tn::FixedString Name = "">
struct PReLU {
    static constexpr tn::FixedString auto_prefix = "p_re_lu";  // Keras: p_re_lu, p_re_lu_1, ...
    static constexpr tn::FixedString explicit_name = Name;

    template <class In, class Device, tn::FixedString LayerName>
    using bind = PReLULayer<In, Device, LayerName>;
};

}  // namespace my_layers
