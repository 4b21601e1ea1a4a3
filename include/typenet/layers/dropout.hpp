// typenet/layers/dropout.hpp
// Dropout<rate, Name = "">: inverted dropout. Training keeps each value with
// probability 1 - rate and scales it by 1 / (1 - rate); inference is the identity.
// Masks come from a counter-based hash, so backward recomputes them (nothing stored)
// and CPU and GPU draw the same mask. The hash's index is the value's place in the whole
// (global) batch: a data-parallel rank whose slice starts at sample k draws the mask that
// one process draws for those samples (set_first_sample), whatever the number of ranks.
// The layer's whole random state is two numbers, its seed and its mask counter (one per
// training step): a resumed fit restores them.
#pragma once

#include <array>
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

    // Data-parallel training: the next batch starts at sample `first` of the global batch.
    void set_first_sample(std::uint64_t first) { first_sample_ = first; }
    // A training step in which this rank has no samples still uses up the step's mask.
    void skip_training_step() { ++stream_; }

    // {seed, mask counter}: saved in a training state (train/training_state.hpp).
    [[nodiscard]] std::array<std::uint64_t, 2> random_state() const { return {seed_, stream_}; }
    void set_random_state(const std::array<std::uint64_t, 2>& state) {
        seed_ = state[0];
        stream_ = state[1];
    }

    void forward(const float* x, float* y, std::size_t batch, Mode mode) {
        if (mode == Mode::train && Rate > 0.0f) {
            ++stream_;  // a fresh mask per training step
            Kernels<Device>::dropout_forward(x, y, batch * In::size, Rate, seed_, stream_, first_sample_ * In::size);
        } else {
            Kernels<Device>::copy(x, y, batch * In::size);
        }
        last_mode_ = mode;
    }
    void backward(const float*, const float*, const float* dy, float* dx, std::size_t batch, bool) {
        if (dx == nullptr) return;
        if (last_mode_ == Mode::train && Rate > 0.0f)
            Kernels<Device>::dropout_backward(dy, dx, batch * In::size, Rate, seed_, stream_,
                                              first_sample_ * In::size);
        else
            Kernels<Device>::copy(dy, dx, batch * In::size);
    }

private:
    std::uint64_t seed_ = 0;
    std::uint64_t stream_ = 0;
    std::uint64_t first_sample_ = 0;
    Mode last_mode_ = Mode::infer;
};

template <float Rate, FixedString Name = "">
struct Dropout : SpecNames<"dropout", Name> {
    template <class In, class Device, FixedString LayerName>
    using bind = DropoutLayer<In, Device, LayerName, Rate>;
};

}  // namespace typenet
