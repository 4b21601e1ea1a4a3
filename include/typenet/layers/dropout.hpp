// typenet/layers/dropout.hpp
// Dropout<rate, Name = "">: inverted dropout. Training keeps each value with
// probability 1 - rate and scales it by 1 / (1 - rate); inference is the identity.
// Masks come from a counter-based hash, so backward recomputes them (nothing stored)
// and CPU and GPU draw the same mask.
#pragma once

#include <cstddef>
#include <cstdint>

#include "typenet/backend/kernels.hpp"
#include "typenet/core/shape.hpp"
#include "typenet/layers/layer.hpp"

namespace typenet {

template <class In, class Device, FixedString Name, float Rate>
class DropoutLayer : public LayerBase<In, In, Name, "Dropout", 0>, public NoParameters<Device> {
public:
    // In a function body: one error under every compiler, no cascade (see DenseLayer::ok).
    static constexpr bool ok = [] {
        static_assert(Rate >= 0.0f && Rate < 1.0f,
                      "Dropout rate must be in [0, 1): it is the fraction of values dropped (Keras: Dropout(0.3))");
        return Rate >= 0.0f && Rate < 1.0f;
    }();
    static constexpr float rate = Rate;

    void initialize(Random& rng) { seed_ = rng.next_u64(); }

    void forward(const float* x, float* y, std::size_t batch, Mode mode) {
        if (mode == Mode::train && Rate > 0.0f) {
            ++stream_;  // a fresh mask per training step
            Kernels<Device>::dropout_forward(x, y, batch * In::size, Rate, seed_, stream_);
        } else {
            Kernels<Device>::copy(x, y, batch * In::size);
        }
        last_mode_ = mode;
    }
    void backward(const float*, const float*, const float* dy, float* dx, std::size_t batch, bool) {
        if (dx == nullptr) return;
        if (last_mode_ == Mode::train && Rate > 0.0f)
            Kernels<Device>::dropout_backward(dy, dx, batch * In::size, Rate, seed_, stream_);
        else
            Kernels<Device>::copy(dy, dx, batch * In::size);
    }

private:
    std::uint64_t seed_ = 0;
    std::uint64_t stream_ = 0;
    Mode last_mode_ = Mode::infer;
};

template <float Rate, FixedString Name = "">
struct Dropout {
    static constexpr FixedString auto_prefix = "dropout";
    static constexpr FixedString explicit_name = Name;

    template <class In, class Device, FixedString LayerName>
    using bind = DropoutLayer<In, Device, LayerName, Rate>;
};

}  // namespace typenet
