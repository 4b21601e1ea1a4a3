// typenet/model/fold.hpp
// Binding a flat list of layer specs to shapes: a left fold over the list that
// carries the current shape. Each step binds one spec to the shape before it, so a
// rule a layer breaks is reported at that layer, with its input shape in the note.
// After the first broken rule the fold binds nothing more (Unbound stand-ins), so
// one mistake gives one error.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>
#include <utility>

#include "typenet/core/fixed_string.hpp"
#include "typenet/core/type_list.hpp"
#include "typenet/layers/contract.hpp"
#include "typenet/layers/layer.hpp"

namespace typenet {

// A run of specs spliced into the enclosing list as if written there one by one:
// how blocks (a VGG block: convolutions then a pool) are written once and reused.
template <class... Specs>
struct Stack {};

// Gives a spec (a layer, or a whole model) an explicit name.
template <FixedString Name, class Spec>
struct Named {
    static constexpr FixedString auto_prefix = Spec::auto_prefix;
    static constexpr FixedString explicit_name = Name;

    template <class In, class Device, FixedString LayerName>
    using bind = typename Spec::template bind<In, Device, LayerName>;
};

// A spec that stands for a part of a model whose error was already reported (by a
// check of its own, such as VGG16Base's minimum input): it binds to a layer that is
// not ok, so the fold stops there without a second message.
struct AlreadyReported {
    static constexpr FixedString auto_prefix = "already_reported";
    static constexpr FixedString explicit_name = "";

    template <class In, class Device, FixedString Name>
    using bind = detail::Unbound<In, Device, Name>;
};

namespace detail {

// ---- Splicing Stack<...> into a flat list ---------------------------------------
template <class List, class... Specs>
struct flatten_specs {
    using type = List;
};
template <class... Done, class Spec, class... Rest>
struct flatten_specs<TypeList<Done...>, Spec, Rest...> : flatten_specs<TypeList<Done..., Spec>, Rest...> {};
template <class... Done, class... Inner, class... Rest>
struct flatten_specs<TypeList<Done...>, Stack<Inner...>, Rest...> : flatten_specs<TypeList<Done...>, Inner..., Rest...> {};

// ---- Names: explicit, or Keras's automatic "<prefix>_<n>" ------------------------
// n counts the unnamed layers of the same prefix so far, from 1, as Keras's uids do.
template <class... Specs>
constexpr std::array<FixedString, sizeof...(Specs)> layer_names() {
    constexpr std::array<std::string_view, sizeof...(Specs)> prefixes{spec_auto_prefix<Specs>()...};
    constexpr std::array<bool, sizeof...(Specs)> named{!spec_explicit_name<Specs>().empty()...};
    constexpr std::array<FixedString, sizeof...(Specs)> explicit_names{spec_explicit_name<Specs>()...};
    std::array<FixedString, sizeof...(Specs)> names{};
    for (std::size_t i = 0; i < sizeof...(Specs); ++i) {
        if (named[i]) {
            names[i] = explicit_names[i];
            continue;
        }
        std::size_t n = 1;
        for (std::size_t j = 0; j < i; ++j) n += (!named[j] && prefixes[j] == prefixes[i]) ? 1 : 0;
        names[i] = indexed_name(prefixes[i], n);
    }
    return names;
}

// ---- The fold ----------------------------------------------------------------------
// Each step checks the layer contract (layers/contract.hpp) of the spec and of the layer
// it binds to; one that breaks it is reported once and replaced by an Unbound stand-in.
template <class Device, class CurrentShape, bool Ok, class... Bound>
struct FoldState {
    using shape = CurrentShape;
    using layers = TypeList<Bound...>;
    static constexpr bool ok = Ok;
};

template <class Spec, FixedString Name>
struct FoldStep {};

template <class Device, class S, bool Ok, class... Bound, class Spec, FixedString Name>
constexpr auto operator>>(FoldState<Device, S, Ok, Bound...>, FoldStep<Spec, Name>) {
    if constexpr (!Ok) {
        return FoldState<Device, S, false, Bound..., Unbound<S, Device, Name>>{};
    } else if constexpr (!check_layer_contract<Spec, S, Device, Name>()) {
        return FoldState<Device, S, false, Bound..., Unbound<S, Device, Name>>{};
    } else {
        using Layer = typename Spec::template bind<S, Device, Name>;
        return FoldState<Device, typename Layer::output_shape, Layer::ok, Bound..., Layer>{};
    }
}

template <class Device, class In, class SpecList, class Indices>
struct bind_all;
template <class Device, class In, class... Specs, std::size_t... I>
struct bind_all<Device, In, TypeList<Specs...>, std::index_sequence<I...>> {
    static constexpr std::array<FixedString, sizeof...(Specs)> names = layer_names<Specs...>();
    using type = decltype((FoldState<Device, In, true>{} >> ... >> FoldStep<Specs, names[I]>{}));
};

}  // namespace detail

// The flat spec list of a model, with every Stack spliced in.
template <class... Specs>
using flatten_specs_t = typename detail::flatten_specs<TypeList<>, Specs...>::type;

// The result of binding SpecList to input shape In on Device: ::layers, ::shape, ::ok.
template <class Device, class In, class SpecList>
using bind_all_t = typename detail::bind_all<Device, In, SpecList, std::make_index_sequence<SpecList::size>>::type;

}  // namespace typenet
