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

template <class>
inline constexpr bool contract_broken = false;

// Each check reports the first member a spec or a bound layer misses, in one
// static_assert, and answers whether the fold may go on with it. The static_assert
// names the concept with the layer's type (clang prints it in the error line, GCC in
// the note above it).
template <class Spec, class In, class Device, FixedString Name>
constexpr bool check_layer_spec() {
    if constexpr (!HasAutoPrefix<Spec>) {
        static_assert(HasAutoPrefix<Spec>,
                      "layer contract: the layer spec has no auto_prefix (add static constexpr FixedString "
                      "auto_prefix = \"my_layer\"; Keras's automatic name prefix; see docs/layers.md)");
        return false;
    } else if constexpr (!HasExplicitName<Spec>) {
        static_assert(HasExplicitName<Spec>,
                      "layer contract: the layer spec has no explicit_name (add static constexpr FixedString "
                      "explicit_name = \"\"; or the name the user gave; see docs/layers.md)");
        return false;
    } else if constexpr (!BindsTo<Spec, In, Device, Name>) {
        static_assert(BindsTo<Spec, In, Device, Name>,
                      "layer contract: the layer spec has no bind (add template <class In, class Device, "
                      "FixedString Name> using bind = MyLayer<In, Device, Name>; see docs/layers.md)");
        return false;
    } else {
        return true;
    }
}

template <class L>
constexpr bool check_bound_layer() {
    if constexpr (!std::default_initializable<L> || !std::copy_constructible<L>) {
        static_assert(std::default_initializable<L> && std::copy_constructible<L>,
                      "layer contract: a bound layer must be default-constructible and copyable");
        return false;
    } else if constexpr (!HasLayerShapes<L> || !HasLayerCounts<L> || !HasLayerNames<L>) {
        static_assert(HasLayerShapes<L> && HasLayerCounts<L> && HasLayerNames<L>,
                      "layer contract: the bound layer has no input_shape/output_shape/param_count/state_count/"
                      "name/keras_type (derive it from LayerBase<In, Out, Name, \"KerasType\", Params>)");
        return false;
    } else if constexpr (!HasOkFlag<L>) {
        static_assert(HasOkFlag<L>,
                      "layer contract: the bound layer has no ok (add static constexpr bool ok = true; or false "
                      "when a shape rule failed and was reported)");
        return false;
    } else if constexpr (!HasTrainableFlag<L>) {
        static_assert(HasTrainableFlag<L>,
                      "layer contract: the bound layer has no trainable flag (derive it from LayerBase)");
        return false;
    } else if constexpr (!HasParameters<L>) {
        static_assert(HasParameters<L>,
                      "layer contract: the bound layer has no parameters() and initialize(Random&) (derive it "
                      "from NoParameters<Device> when it has no weights)");
        return false;
    } else if constexpr (!HasForward<L>) {
        static_assert(HasForward<L>,
                      "layer contract: the bound layer has no forward(const float* x, float* y, std::size_t "
                      "batch, Mode mode)");
        return false;
    } else if constexpr (!HasBackward<L>) {
        static_assert(HasBackward<L>,
                      "layer contract: the bound layer has no backward(const float* x, const float* y, const "
                      "float* dy, float* dx, std::size_t batch, bool dy_is_preactivation)");
        return false;
    } else {
        return true;
    }
}

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
