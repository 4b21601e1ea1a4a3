// typenet/layers/layer.hpp
// What every bound layer has in common. A layer *spec* (Conv2D<16, 3, ReLU>) is what
// a user writes; Sequential binds it to its input shape, a device and a name, which
// gives a *bound layer* type with this static face:
//
//   input_shape, output_shape     Shape<...> per sample
//   param_count                   number of weights, as Keras counts them (state included)
//   state_count                   how many of them are non-trainable state (layers/state.hpp)
//   name, keras_type              "conv2d_1", "Conv2D"
//   ok                            false when a shape rule failed (already reported)
//   activation                    the fused activation tag (Linear when none)
//
// and this runtime face, on device pointers, batch first:
//
//   bool trainable                                 Keras's layer.trainable
//   parameters()                                   span of Parameter<Device>: what optimizers update
//   state()                                        (layers with state only) span of StateVariable<Device>:
//                                                  saved and loaded, never seen by an optimizer
//   initialize(Random&)                            Keras initializers
//   forward(x, y, batch, mode)
//       Mode::train runs a layer in training mode only while it is trainable: a frozen
//       BatchNormalization uses its moving statistics (TensorFlow 2's rule).
//   backward(x, y, dy, dx, batch, dy_is_preactivation)
//       fills parameter gradients when trainable, and dx (may be null: nobody needs it).
//       dy_is_preactivation: dy is already dL/d(pre-activation), as a fused loss gives.
//
// A spec has auto_prefix (Keras's name prefix), explicit_name ("" for an automatic name)
// and bind<In, Device, Name>. layers/contract.hpp states all of this as concepts
// (LayerSpecFor, BoundLayer), which the fold checks; the kernels a layer may call are
// listed once in backend/kernels.hpp; docs/layers.md walks through a new layer.
#pragma once

#include <cstddef>
#include <span>

#include "typenet/core/buffer.hpp"
#include "typenet/core/device.hpp"
#include "typenet/core/fixed_string.hpp"
#include "typenet/core/random.hpp"
#include "typenet/layers/activations.hpp"
#include "typenet/layers/parameter.hpp"

namespace typenet {

template <class In, class Out, FixedString Name, FixedString KerasType, std::size_t Params, class Act = Linear,
          std::size_t StateCount = 0>
struct LayerBase {
    static_assert(StateCount <= Params, "LayerBase: a layer's state is counted in its param_count");
    using input_shape = In;
    using output_shape = Out;
    using activation = Act;
    static constexpr FixedString name = Name;
    static constexpr FixedString keras_type = KerasType;
    static constexpr std::size_t param_count = Params;
    static constexpr std::size_t state_count = StateCount;
    static constexpr bool is_model = false;

    bool trainable = true;

    // Keras: a trainable layer's trainable weights; its state is never among them.
    [[nodiscard]] std::size_t trainable_param_count() const { return trainable ? Params - StateCount : 0; }
    [[nodiscard]] bool has_trainable_parameters() const { return trainable && Params != StateCount; }
    void set_trainable(bool value) { trainable = value; }
};

// The names every spec gives (layers/contract.hpp): Keras's automatic prefix, and the
// name the user gave or "". A spec derives from it and adds its bind.
template <FixedString AutoPrefix, FixedString ExplicitName = "">
struct SpecNames {
    static constexpr FixedString auto_prefix = AutoPrefix;
    static constexpr FixedString explicit_name = ExplicitName;
};

// A layer without weights: no parameters, nothing to initialise.
template <class Device>
struct NoParameters {
    std::span<Parameter<Device>> parameters() { return {}; }
    std::span<const Parameter<Device>> parameters() const { return {}; }
    void initialize(Random&) {}
};

namespace detail {

// Stands in for every layer after one that broke a shape rule: it checks nothing,
// so the compiler reports the first broken rule and nothing after it.
template <class In, class Device, FixedString Name>
struct Unbound : LayerBase<In, In, Name, "Unbound", 0>, NoParameters<Device> {
    static constexpr bool ok = false;
    void forward(const float*, float*, std::size_t, Mode) {}
    void backward(const float*, const float*, const float*, float*, std::size_t, bool) {}
};

}  // namespace detail

// A block of branches (model/block.hpp): it holds layers, but they are the model's own,
// as in a Keras functional model: walks list them without the block, paths skip its name.
template <class L>
constexpr bool block_flag() {
    if constexpr (requires { L::is_block; })
        return L::is_block;
    else
        return false;
}
template <class L>
inline constexpr bool is_block_v = block_flag<L>();

}  // namespace typenet
