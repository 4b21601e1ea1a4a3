// typenet/model/block.hpp
// Branches that merge, as types: residual blocks and Inception-style branches.
//
//   using Identity = tn::Add<"conv2_block2_add",
//       tn::Branch<>,                                           // the shortcut: the input itself
//       tn::Branch<tn::Conv2D<64, 1, tn::Linear, tn::Valid, "conv2_block2_1_conv">, ...>>;
//   using Mixed = tn::Concatenate<"mixed0", tn::Branch<...>, tn::Branch<...>>;   // channel axis
//
// Every Branch starts from the block's input; Branch<> is the input itself. Add sums the
// branches' outputs (Keras's Add), Concatenate joins them on the channel axis (Keras's
// Concatenate(axis=-1)). A block is one element of a Sequential or Model and nests like
// Stack; it is checked when it is bound: an Add whose branches end in different shapes, or
// a Concatenate whose branches end in different heights or widths, is one static_assert
// whose instantiation names the block and both shapes (tests/compile_fail).
//
// As in a Keras functional model, a block's layers are the model's own layers: summaries
// list them one per row followed by the merge layer, weights are named "<layer>/<weight>"
// without the block's name, set_trainable / set_trainable_from / get<"name"> reach them, and
// the model walks them in Keras's order (farther from the merge first, then the merge).
// Layers inside a block must be named explicitly (Keras's applications name them all):
// automatic names would restart in each branch and collide.
// A Model holding blocks prints Keras's functional summary, with its "Connected to" column
// (model/summary.hpp).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "typenet/backend/kernels.hpp"
#include "typenet/core/buffer.hpp"
#include "typenet/core/fixed_string.hpp"
#include "typenet/core/random.hpp"
#include "typenet/core/shape.hpp"
#include "typenet/core/type_list.hpp"
#include "typenet/layers/input.hpp"
#include "typenet/layers/layer.hpp"
#include "typenet/model/chain.hpp"
#include "typenet/model/fold.hpp"

namespace typenet {

// A run of layers from a block's input; Branch<> is the input itself (a shortcut).
template <class... Specs>
struct Branch {};

struct AddMerge {
    static constexpr FixedString keras_type = "Add";
    static constexpr FixedString auto_prefix = "add";
};
struct ConcatenateMerge {
    static constexpr FixedString keras_type = "Concatenate";
    static constexpr FixedString auto_prefix = "concatenate";
};

namespace detail {

template <class S>
struct input_of;
template <std::size_t... Dims>
struct input_of<Shape<Dims...>> {
    using type = Input<Dims...>;
};

template <class Spec>
constexpr bool explicitly_named() {
    return !spec_explicit_name<Spec>().empty();
}
template <class List>
struct all_named;
template <class... Specs>
struct all_named<TypeList<Specs...>> {
    static constexpr bool value = (explicitly_named<Specs>() && ...);
};

// One branch at runtime: a Chain over its layers, or the identity.
template <class Device, class In, FixedString BlockName, class BranchSpec>
class BranchRuntime;

template <class Device, class In, FixedString BlockName>
class BranchRuntime<Device, In, BlockName, Branch<>> {
public:
    using output_shape = In;
    static constexpr bool ok = true, identity = true;
    static constexpr std::size_t param_count = 0, state_count = 0;

    template <FixedString>
    static constexpr bool contains() { return false; }
    template <class Visitor>
    void for_each_layer(Visitor&&, int) const {}
    template <class Visitor>
    void for_each_parameter(Visitor&&, std::string_view) const {}
    template <class Visitor>
    void for_each_state(Visitor&&, std::string_view) const {}
    template <class Visitor>
    void for_each_weight(Visitor&&, std::string_view) const {}
    void initialize(Random&) {}
    [[nodiscard]] bool has_trainable_parameters() const { return false; }
};

template <class Device, class In, FixedString BlockName, class... Specs>
class BranchRuntime<Device, In, BlockName, Branch<Specs...>>
    : public Chain<Device, SequentialKind, BlockName, typename input_of<In>::type, flatten_specs_t<Specs...>> {
    using base = Chain<Device, SequentialKind, BlockName, typename input_of<In>::type, flatten_specs_t<Specs...>>;
    static_assert(all_named<flatten_specs_t<Specs...>>::value,
                  "Add / Concatenate block: every layer inside a branch needs an explicit name (as Keras's "
                  "applications give them), e.g. Conv2D<64, 1, Linear, Valid, \"conv2_block1_1_conv\">: automatic "
                  "names would restart in each branch and collide");

public:
    static constexpr bool identity = false;
    BranchRuntime() : base(no_initialization) {}
};

// Layers of a branch at its top level (none for the identity).
template <class Runtime>
constexpr std::size_t branch_length() {
    if constexpr (Runtime::identity)
        return 0;
    else
        return Runtime::layer_count;
}

// The merge layer as the model sees it: a row in the summary, a leaf with no weights.
template <class Out, class Device, FixedString Name, FixedString KerasType>
struct MergeLeaf : LayerBase<Out, Out, Name, KerasType, 0>, NoParameters<Device> {
    static constexpr bool ok = true;
    void forward(const float*, float*, std::size_t, Mode) {}
    void backward(const float*, const float*, const float*, float*, std::size_t, bool) {}
};

// The rules, each a template so that its instantiation line names the block and both shapes.
template <FixedString Block, class First, class Other>
struct AddShapesMatch {
    static constexpr bool match = std::is_same_v<First, Other>;
    // In a function body: one error under every compiler, no cascade (see DenseLayer::ok).
    static constexpr bool value = [] {
        static_assert(match,
                      "Add block: two of its branches end in different shapes (the instantiation above names the "
                      "block, the first branch's Shape and the other's): Add needs equal shapes; give the shortcut "
                      "a 1x1 Conv2D with the same filters and stride");
        return match;
    }();
};
template <FixedString Block, class First, class Other>
struct ConcatenateShapesMatch {
    static constexpr bool match = First::rank == 3 && Other::rank == 3 && dim_or_one<First, 0> == dim_or_one<Other, 0> &&
                                  dim_or_one<First, 1> == dim_or_one<Other, 1>;
    static constexpr bool value = [] {
        static_assert(match,
                      "Concatenate block: two of its branches end in different heights or widths (the instantiation "
                      "above names the block, the first branch's Shape and the other's): Concatenate joins images of "
                      "the same size on the channel axis");
        return match;
    }();
};

template <class Merge, class... Outs>
struct merged_shape;
template <class First, class... Rest>
struct merged_shape<AddMerge, First, Rest...> {
    using type = First;
};
template <class First, class... Rest>
struct merged_shape<ConcatenateMerge, First, Rest...> {
    using type = Shape<dim_or_one<First, 0>, dim_or_one<First, 1>, (dim_or_one<First, 2> + ... + dim_or_one<Rest, 2>)>;
};

// Index of the first branch whose output breaks the merge's rule against branch 0 (0: none).
template <class Merge, class First, class... Outs>
constexpr std::size_t first_mismatch() {
    constexpr std::array<bool, sizeof...(Outs) + 1> fits{
        true, (std::is_same_v<Merge, AddMerge>
                   ? std::is_same_v<First, Outs>
                   : (First::rank == 3 && Outs::rank == 3 && dim_or_one<First, 0> == dim_or_one<Outs, 0> &&
                      dim_or_one<First, 1> == dim_or_one<Outs, 1>))...};
    for (std::size_t i = 1; i < fits.size(); ++i)
        if (!fits[i]) return i;
    return 0;
}

}  // namespace detail

template <class In, class Device, FixedString Name, class Merge, class... Branches>
class BlockLayer {
    static_assert(sizeof...(Branches) >= 2, "Add / Concatenate block: it needs at least two branches");
    using runtimes = std::tuple<detail::BranchRuntime<Device, In, Name, Branches>...>;
    template <std::size_t I>
    using runtime_at = std::tuple_element_t<I, runtimes>;
    static constexpr bool branches_ok = (detail::BranchRuntime<Device, In, Name, Branches>::ok && ...);
    using outs = TypeList<typename detail::BranchRuntime<Device, In, Name, Branches>::output_shape...>;
    template <std::size_t I>
    using out_at = type_at_t<I, outs>;

    static constexpr std::size_t mismatch =
        branches_ok ? detail::first_mismatch<Merge, typename detail::BranchRuntime<Device, In, Name, Branches>::output_shape...>()
                    : 0;
    // Checked only when every branch bound (a branch's own error was reported there), and
    // only the merge's own rule is instantiated, so one mistake gives one error.
    static constexpr bool check_merge() {
        if constexpr (!branches_ok)
            return true;
        else if constexpr (std::is_same_v<Merge, AddMerge>)
            return detail::AddShapesMatch<Name, out_at<0>, out_at<mismatch>>::value;
        else
            return detail::ConcatenateShapesMatch<Name, out_at<0>, out_at<mismatch>>::value;
    }
    static constexpr bool merge_ok = check_merge();

public:
    using input_shape = In;
    using output_shape = typename detail::merged_shape<Merge, typename detail::BranchRuntime<Device, In, Name, Branches>::output_shape...>::type;
    using activation = Linear;
    static constexpr FixedString name = Name;
    static constexpr FixedString keras_type = Merge::keras_type;
    static constexpr bool is_model = true;  // it holds layers: the model walks into it
    static constexpr bool is_block = true;  // but they are the model's own (no name prefix, own rows)
    static constexpr bool ok = branches_ok && merge_ok;
    static constexpr std::size_t branch_count = sizeof...(Branches);
    // Layers in the longest branch (an identity branch has none).
    static constexpr std::size_t longest_branch = [] {
        std::size_t most = 0;
        ((most = std::max(most, detail::branch_length<detail::BranchRuntime<Device, In, Name, Branches>>())), ...);
        return most;
    }();
    static constexpr std::size_t param_count = (std::size_t{0} + ... + detail::BranchRuntime<Device, In, Name, Branches>::param_count);
    static constexpr std::size_t state_count = (std::size_t{0} + ... + detail::BranchRuntime<Device, In, Name, Branches>::state_count);

    template <std::size_t I>
    auto& branch() { return std::get<I>(branches_); }
    template <std::size_t I>
    const auto& branch() const { return std::get<I>(branches_); }

    // ---- The model's walks (model/chain.hpp) ---------------------------------------------
    template <FixedString LayerName>
    static constexpr bool contains() {
        return LayerName == Name || (detail::BranchRuntime<Device, In, Name, Branches>::template contains<LayerName>() || ...);
    }
    template <FixedString LayerName>
    auto& get() {
        static_assert(contains<LayerName>(), "get<name>(): this block has no layer of that name");
        if constexpr (LayerName == Name)
            return merge_;
        else
            return get_from<LayerName, 0>();
    }
    // The block's layers in Keras's order (its model.layers, its summary): farther from the
    // merge first, ties in branch order, then the merge layer. set_trainable_from walks this,
    // so fine-tuning a ResNet "from conv5_block1_1_conv on" trains that block's projection
    // shortcut (conv5_block1_0_conv, listed after conv5_block1_2_relu) as Keras does.
    template <class Visitor>
    void for_each_layer(Visitor&& visit, int depth = 0) {
        keras_walk<longest_branch>(*this, visit, depth);
        visit(merge_, depth);
    }
    template <class Visitor>
    void for_each_layer(Visitor&& visit, int depth = 0) const {
        keras_walk<longest_branch>(*this, visit, depth);
        visit(merge_, depth);
    }
    template <class Visitor>
    void for_each_parameter(Visitor&& visit, std::string_view prefix = {}) {
        std::apply([&](auto&... b) { (b.for_each_parameter(visit, prefix), ...); }, branches_);
    }
    template <class Visitor>
    void for_each_parameter(Visitor&& visit, std::string_view prefix = {}) const {
        std::apply([&](const auto&... b) { (b.for_each_parameter(visit, prefix), ...); }, branches_);
    }
    template <class Visitor>
    void for_each_state(Visitor&& visit, std::string_view prefix = {}) {
        std::apply([&](auto&... b) { (b.for_each_state(visit, prefix), ...); }, branches_);
    }
    template <class Visitor>
    void for_each_state(Visitor&& visit, std::string_view prefix = {}) const {
        std::apply([&](const auto&... b) { (b.for_each_state(visit, prefix), ...); }, branches_);
    }
    template <class Visitor>
    void for_each_weight(Visitor&& visit, std::string_view prefix = {}) {
        std::apply([&](auto&... b) { (b.for_each_weight(visit, prefix), ...); }, branches_);
    }
    template <class Visitor>
    void for_each_weight(Visitor&& visit, std::string_view prefix = {}) const {
        std::apply([&](const auto&... b) { (b.for_each_weight(visit, prefix), ...); }, branches_);
    }
    void initialize(Random& rng) {
        std::apply([&](auto&... b) { (b.initialize(rng), ...); }, branches_);
    }
    [[nodiscard]] bool has_trainable_parameters() const {
        return std::apply([](const auto&... b) { return (b.has_trainable_parameters() || ...); }, branches_);
    }

    // ---- Forward and backward --------------------------------------------------------------
    void forward(const float* x, float* y, std::size_t batch, Mode mode) {
        const float* outputs[branch_count];
        forward_branches<0>(x, outputs, batch, mode);
        if constexpr (std::is_same_v<Merge, AddMerge>) {
            Kernels<Device>::copy(outputs[0], y, batch * output_shape::size);
            for (std::size_t b = 1; b < branch_count; ++b) Kernels<Device>::accumulate(outputs[b], y, batch * output_shape::size);
        } else {
            concatenate<0>(outputs, y, batch, 0);
        }
    }

    // Each branch gets its part of dy; dx is the sum of what the branches send back.
    void backward(const float* x, const float*, const float* dy, float* dx, std::size_t batch, bool) {
        if (dx != nullptr) dx_sum_.ensure(batch * In::size);
        bool first = true;
        backward_branches<0>(x, dy, dx, batch, first);
    }

private:
    // Keras's order: for each distance to the merge, from the longest branch's down to 1, the
    // layer at that distance of each branch that has one, in branch order.
    template <std::size_t Distance, class Self, class Visitor>
    static void keras_walk(Self& self, Visitor& visit, int depth) {
        if constexpr (Distance > 0) {
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                (visit_at<I, Distance>(self, visit, depth), ...);
            }(std::make_index_sequence<branch_count>{});
            keras_walk<Distance - 1>(self, visit, depth);
        }
    }
    template <std::size_t I, std::size_t Distance, class Self, class Visitor>
    static void visit_at(Self& self, Visitor& visit, int depth) {
        constexpr std::size_t length = detail::branch_length<runtime_at<I>>();
        if constexpr (length >= Distance) {
            auto& layer = std::get<I>(self.branches_).template layer<length - Distance>();
            using L = std::remove_cvref_t<decltype(layer)>;
            if constexpr (is_block_v<L>) {
                layer.for_each_layer(visit, depth);  // a block inside a branch: its own layers, as the model's
            } else {
                visit(layer, depth);
                if constexpr (L::is_model) layer.for_each_layer(visit, depth + 1);
            }
        }
    }

    template <FixedString LayerName, std::size_t I>
    auto& get_from() {
        if constexpr (runtime_at<I>::template contains<LayerName>())
            return std::get<I>(branches_).template get<LayerName>();
        else
            return get_from<LayerName, I + 1>();
    }

    template <std::size_t I>
    void forward_branches(const float* x, const float** outputs, std::size_t batch, Mode mode) {
        if constexpr (I < branch_count) {
            if constexpr (runtime_at<I>::identity) {
                outputs[I] = x;
            } else {
                out_[I].ensure(batch * out_at<I>::size);
                std::get<I>(branches_).forward(x, out_[I].data(), batch, mode);
                outputs[I] = out_[I].data();
            }
            forward_branches<I + 1>(x, outputs, batch, mode);
        }
    }

    template <std::size_t I>
    void concatenate(const float** outputs, float* y, std::size_t batch, std::size_t offset) {
        if constexpr (I < branch_count) {
            constexpr std::size_t width = dim_or_one<out_at<I>, 2>;
            Kernels<Device>::copy_channels(outputs[I], width, 0, y, dim_or_one<output_shape, 2>, offset, width,
                                           batch * dim_or_one<output_shape, 0> * dim_or_one<output_shape, 1>);
            concatenate<I + 1>(outputs, y, batch, offset + width);
        }
    }

    // Branch I's share of dy: all of it for Add, its channels for Concatenate.
    template <std::size_t I>
    const float* dy_of(const float* dy, std::size_t batch) {
        if constexpr (std::is_same_v<Merge, AddMerge>) {
            return dy;
        } else {
            constexpr std::size_t width = dim_or_one<out_at<I>, 2>;
            dy_[I].ensure(batch * out_at<I>::size);
            Kernels<Device>::copy_channels(dy, dim_or_one<output_shape, 2>, channel_offset<I>(), dy_[I].data(), width, 0,
                                           width, batch * dim_or_one<output_shape, 0> * dim_or_one<output_shape, 1>);
            return dy_[I].data();
        }
    }
    template <std::size_t I>
    static constexpr std::size_t channel_offset() {
        if constexpr (I == 0)
            return 0;
        else
            return channel_offset<I - 1>() + dim_or_one<out_at<I - 1>, 2>;
    }

    template <std::size_t I>
    void backward_branches(const float* x, const float* dy, float* dx, std::size_t batch, bool& first) {
        if constexpr (I < branch_count) {
            const float* d = dy_of<I>(dy, batch);
            if constexpr (runtime_at<I>::identity) {
                if (dx != nullptr) add_into(d, dx, batch, first);
            } else {
                float* branch_dx = nullptr;
                if (dx != nullptr) branch_dx = first ? dx : dx_sum_.data();
                std::get<I>(branches_).backward(x, out_[I].data(), d, branch_dx, batch, false);
                if (dx != nullptr && !first) Kernels<Device>::accumulate(dx_sum_.data(), dx, batch * In::size);
                if (dx != nullptr) first = false;
            }
            backward_branches<I + 1>(x, dy, dx, batch, first);
        }
    }
    void add_into(const float* d, float* dx, std::size_t batch, bool& first) {
        if (first)
            Kernels<Device>::copy(d, dx, batch * In::size);
        else
            Kernels<Device>::accumulate(d, dx, batch * In::size);
        first = false;
    }

    runtimes branches_;
    detail::MergeLeaf<output_shape, Device, Name, Merge::keras_type> merge_;
    std::array<Buffer<Device>, branch_count> out_;  // each branch's output (identity: unused)
    std::array<Buffer<Device>, branch_count> dy_;   // Concatenate: each branch's channels of dy
    Buffer<Device> dx_sum_;                         // a later branch's dx, before it is added
};

template <FixedString Name, class... Branches>
struct Add {
    static constexpr FixedString auto_prefix = AddMerge::auto_prefix;
    static constexpr FixedString explicit_name = Name;

    template <class In, class Device, FixedString LayerName>
    using bind = BlockLayer<In, Device, LayerName, AddMerge, Branches...>;
};

template <FixedString Name, class... Branches>
struct Concatenate {
    static constexpr FixedString auto_prefix = ConcatenateMerge::auto_prefix;
    static constexpr FixedString explicit_name = Name;

    template <class In, class Device, FixedString LayerName>
    using bind = BlockLayer<In, Device, LayerName, ConcatenateMerge, Branches...>;
};

}  // namespace typenet
