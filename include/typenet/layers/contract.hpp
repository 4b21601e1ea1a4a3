// typenet/layers/contract.hpp
// The layer contract of layers/layer.hpp as C++20 concepts, so that a layer written
// outside the library is checked where model/fold.hpp binds it: a missing member is one
// error that names the member, with the layer's type in the compiler's note, instead of
// a cascade of "is not a member" errors from deep inside the fold. docs/layers.md shows
// a complete layer that satisfies them.
#pragma once

#include <concepts>
#include <cstddef>
#include <string_view>

#include "typenet/core/device.hpp"
#include "typenet/core/fixed_string.hpp"
#include "typenet/core/random.hpp"

namespace typenet {

// ---- A layer spec: what a user writes inside Sequential<...> ------------------------
// auto_prefix: Keras's automatic name prefix ("conv2d" gives conv2d_1, conv2d_2, ...).
template <class Spec>
concept HasAutoPrefix = requires {
    { Spec::auto_prefix.view() } -> std::convertible_to<std::string_view>;
};
// explicit_name: the name the user gave, or "" for an automatic one.
template <class Spec>
concept HasExplicitName = requires {
    { Spec::explicit_name.view() } -> std::convertible_to<std::string_view>;
};
// bind<In, Device, Name>: the bound layer for input shape In on Device.
template <class Spec, class In, class Device, FixedString Name>
concept BindsTo = requires { typename Spec::template bind<In, Device, Name>; };

template <class Spec, class In, class Device = cpu>
concept LayerSpecFor = HasAutoPrefix<Spec> && HasExplicitName<Spec> && BindsTo<Spec, In, Device, "layer">;

// ---- A bound layer: what Chain (model/chain.hpp) holds and runs ---------------------
// The static face; LayerBase (layers/layer.hpp) gives all of it but ok.
template <class L>
concept HasLayerShapes = requires {
    { L::input_shape::size } -> std::convertible_to<std::size_t>;
    { L::output_shape::size } -> std::convertible_to<std::size_t>;
};
template <class L>
concept HasLayerCounts = requires {
    { L::param_count } -> std::convertible_to<std::size_t>;
    { L::state_count } -> std::convertible_to<std::size_t>;
};
template <class L>
concept HasLayerNames = requires {
    { L::name.view() } -> std::convertible_to<std::string_view>;
    { L::keras_type.view() } -> std::convertible_to<std::string_view>;
};
template <class L>
concept HasOkFlag = requires {
    { L::ok } -> std::convertible_to<bool>;
};
template <class L>
concept HasTrainableFlag = requires(L& layer, const L& held) {
    typename L::activation;
    { L::is_model } -> std::convertible_to<bool>;
    { layer.trainable } -> std::convertible_to<bool>;
    layer.set_trainable(true);
    { held.trainable_param_count() } -> std::convertible_to<std::size_t>;
    { held.has_trainable_parameters() } -> std::convertible_to<bool>;
};
// The runtime face; NoParameters (layers/layer.hpp) gives parameters() and initialize().
template <class L>
concept HasParameters = requires(L& layer, Random& rng) {
    layer.parameters().size();
    layer.initialize(rng);
};
template <class L>
concept HasForward = requires(L& layer, const float* x, float* y, std::size_t batch, Mode mode) {
    layer.forward(x, y, batch, mode);
};
template <class L>
concept HasBackward = requires(L& layer, const float* x, const float* y, const float* dy, float* dx,
                               std::size_t batch, bool dy_is_preactivation) {
    layer.backward(x, y, dy, dx, batch, dy_is_preactivation);
};

template <class L>
concept BoundLayer = std::default_initializable<L> && std::copy_constructible<L> && HasLayerShapes<L> &&
                     HasLayerCounts<L> && HasLayerNames<L> && HasOkFlag<L> && HasTrainableFlag<L> &&
                     HasParameters<L> && HasForward<L> && HasBackward<L>;

namespace detail {

// Models and blocks (model/chain.hpp, model/block.hpp) bind as layers too; they are
// the library's own and their layers were checked when they were bound.
template <class L>
constexpr bool is_composite_layer() {
    if constexpr (requires { L::is_block; }) {
        if constexpr (L::is_block) return true;
    }
    if constexpr (requires { L::is_model; })
        return L::is_model;
    else
        return false;
}

// The layer a spec binds to, or void when it has no bind.
template <class Spec, class In, class Device, FixedString Name>
struct bound_layer_of {
    using type = void;
};
template <class Spec, class In, class Device, FixedString Name>
    requires BindsTo<Spec, In, Device, Name>
struct bound_layer_of<Spec, In, Device, Name> {
    using type = typename Spec::template bind<In, Device, Name>;
};

// Reports the first member a spec, or the layer it binds to, misses, in one failed
// static_assert (the others hold), and answers whether the fold may bind it. The
// instantiation note above the error names the spec's type and the layer's name.
template <class Spec, class In, class Device, FixedString Name>
constexpr bool check_layer_contract() {
    using L = typename bound_layer_of<Spec, In, Device, Name>::type;
    constexpr int missing = !HasAutoPrefix<Spec>                                           ? 1
                            : !HasExplicitName<Spec>                                       ? 2
                            : !BindsTo<Spec, In, Device, Name>                             ? 3
                            : is_composite_layer<L>()                                      ? 0
                            : !(std::default_initializable<L> && std::copy_constructible<L>) ? 4
                            : !(HasLayerShapes<L> && HasLayerCounts<L> && HasLayerNames<L>) ? 5
                            : !HasOkFlag<L>                                                ? 6
                            : !HasTrainableFlag<L>                                         ? 7
                            : !HasParameters<L>                                            ? 8
                            : !HasForward<L>                                               ? 9
                            : !HasBackward<L>                                              ? 10
                                                                                           : 0;
    static_assert(missing != 1, "layer contract: the layer spec has no auto_prefix (add static constexpr FixedString "
                                "auto_prefix = \"my_layer\"; Keras's automatic name prefix; see docs/layers.md)");
    static_assert(missing != 2, "layer contract: the layer spec has no explicit_name (add static constexpr "
                                "FixedString explicit_name = \"\"; or the name the user gave; see docs/layers.md)");
    static_assert(missing != 3, "layer contract: the layer spec has no bind (add template <class In, class Device, "
                                "FixedString Name> using bind = MyLayer<In, Device, Name>; see docs/layers.md)");
    static_assert(missing != 4, "layer contract: a bound layer must be default-constructible and copyable");
    static_assert(missing != 5, "layer contract: the bound layer has no input_shape/output_shape/param_count/"
                                "state_count/name/keras_type (derive it from LayerBase<In, Out, Name, \"KerasType\", "
                                "Params>)");
    static_assert(missing != 6, "layer contract: the bound layer has no ok (add static constexpr bool ok = true; or "
                                "false when a shape rule failed and was reported)");
    static_assert(missing != 7, "layer contract: the bound layer has no trainable flag (derive it from LayerBase)");
    static_assert(missing != 8, "layer contract: the bound layer has no parameters() and initialize(Random&) (derive "
                                "it from NoParameters<Device> when it has no weights)");
    static_assert(missing != 9, "layer contract: the bound layer has no forward(const float* x, float* y, "
                                "std::size_t batch, Mode mode)");
    static_assert(missing != 10, "layer contract: the bound layer has no backward(const float* x, const float* y, "
                                 "const float* dy, float* dx, std::size_t batch, bool dy_is_preactivation)");
    return missing == 0;
}

// The names a fold reads from every spec before it binds any, read so that a spec
// without them gives no error here: the fold step reports it, once.
template <class Spec>
constexpr std::string_view spec_auto_prefix() {
    if constexpr (HasAutoPrefix<Spec>)
        return Spec::auto_prefix.view();
    else
        return "layer";
}
template <class Spec>
constexpr FixedString spec_explicit_name() {
    if constexpr (HasExplicitName<Spec>)
        return Spec::explicit_name;
    else
        return "";
}

}  // namespace detail

}  // namespace typenet
