// typenet/model/chain.hpp
// The runtime of a model: its bound layers in a tuple, the activations of a batch,
// and forward/backward over them. Sequential and Model (model/sequential.hpp) are
// the names users write; Chain is what they are made of, on any device.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "typenet/backend/kernels.hpp"
#include "typenet/core/backward_listener.hpp"
#include "typenet/core/buffer.hpp"
#include "typenet/core/device.hpp"
#include "typenet/core/fixed_string.hpp"
#include "typenet/core/random.hpp"
#include "typenet/core/shape.hpp"
#include "typenet/core/type_list.hpp"
#include "typenet/layers/fold_batch_norm.hpp"
#include "typenet/layers/input.hpp"
#include "typenet/layers/layer.hpp"
#include "typenet/layers/state.hpp"
#include "typenet/model/fold.hpp"
#include "typenet/model/summary.hpp"

namespace typenet {

// What kind of Keras container a chain prints as.
struct SequentialKind {
    static constexpr FixedString keras_type = "Sequential";
    static constexpr FixedString auto_prefix = "sequential";
    static constexpr bool shows_input_layer = false;  // Keras's Sequential summary has no InputLayer row
};
struct ModelKind {
    static constexpr FixedString keras_type = "Model";
    static constexpr FixedString auto_prefix = "model";
    static constexpr bool shows_input_layer = true;  // functional models list input_1 (InputLayer)
};

// Per-layer forward times, for benchmarks (benchmarks/cpu_workloads --profile): while set,
// every layer that is neither a model nor a block reports its name, Keras type, whether a
// BatchNormalization was folded into it (its time then includes the BN and any ReLU), and
// the seconds its forward took. One null check per layer when unset.
using ForwardProfiler = void (*)(std::string_view layer, std::string_view keras_type, bool folded, double seconds);
inline ForwardProfiler& forward_profiler() {
    static ForwardProfiler profiler = nullptr;
    return profiler;
}

namespace detail {
// Out of line of the per-layer walks below (one copy, not one per layer type).
inline std::string layer_path(std::string_view prefix, std::string_view layer) {
    std::string path(prefix);
    if (!path.empty()) path += '/';
    path += layer;
    return path;
}
// "a, b" + c -> "a, b, c".
inline void append_listed(std::string& list, std::string_view item) {
    if (!list.empty()) list += ", ";
    list += item;
}
// forward_profiler()'s call for a layer whose forward began at `start`.
inline void report_forward_time(std::string_view layer, std::string_view keras_type, bool folded,
                                std::chrono::steady_clock::time_point start) {
    forward_profiler()(layer, keras_type, folded,
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}
}  // namespace detail

struct no_initialization_t {};
inline constexpr no_initialization_t no_initialization{};

// Seed used when a model is made without one, so that runs are reproducible.
inline constexpr std::uint64_t default_seed = 42;

template <class Device, class Kind, FixedString Name, class InputSpec, class SpecList>
class Chain;

template <class Device, class Kind, FixedString Name, class InputSpec, class... Specs>
class Chain<Device, Kind, Name, InputSpec, TypeList<Specs...>> {
    static_assert(is_input_v<InputSpec>,
                  "Sequential: the first element must be tn::Input<...> (the shape of one sample), "
                  "e.g. Sequential<Input<150, 150, 3>, Conv2D<16, 3, ReLU>, ...>");
    static_assert(sizeof...(Specs) > 0, "Sequential: a model needs at least one layer after its Input");

    using input_spec = std::conditional_t<is_input_v<InputSpec>, InputSpec, Input<1>>;
    using bound = bind_all_t<Device, typename input_spec::shape, TypeList<Specs...>>;

    template <class List>
    struct tuple_of;
    template <class... Ts>
    struct tuple_of<TypeList<Ts...>> {
        using type = std::tuple<Ts...>;
    };

public:
    using device = Device;
    using kind = Kind;
    using layer_list = typename bound::layers;
    using layers_tuple = typename tuple_of<layer_list>::type;
    using input_shape = typename input_spec::shape;
    using output_shape = typename bound::shape;
    template <std::size_t I>
    using layer_type = type_at_t<I, layer_list>;
    using activation = typename last_t<layer_list>::activation;  // of the last layer (fused losses)

    static constexpr std::size_t layer_count = sizeof...(Specs);
    static constexpr bool ok = bound::ok;
    static constexpr bool is_model = true;
    static constexpr FixedString name = Name;
    static constexpr FixedString keras_type = Kind::keras_type;

private:
    template <std::size_t... I>
    static constexpr std::size_t sum_params(std::index_sequence<I...>) {
        return (std::size_t{0} + ... + layer_type<I>::param_count);
    }
    template <std::size_t... I>
    static constexpr std::size_t sum_state(std::index_sequence<I...>) {
        return (std::size_t{0} + ... + layer_type<I>::state_count);
    }
    template <std::size_t... I>
    static constexpr std::array<std::size_t, layer_count> output_sizes(std::index_sequence<I...>) {
        return {layer_type<I>::output_shape::size...};
    }
    template <std::size_t... I>
    static constexpr std::array<FixedString, layer_count> names_of(std::index_sequence<I...>) {
        return {layer_type<I>::name...};
    }
    using indices = std::make_index_sequence<layer_count>;

public:
    static constexpr std::size_t param_count = sum_params(indices{});  // state included, as Keras counts
    static constexpr std::size_t state_count = sum_state(indices{});   // moving statistics and the like
    static constexpr std::array<FixedString, layer_count> layer_names = names_of(indices{});
    // Floats per sample of each layer's output.
    static constexpr std::array<std::size_t, layer_count> layer_output_sizes = output_sizes(indices{});

    Chain() : Chain(default_seed) {}
    explicit Chain(std::uint64_t seed) {
        Random rng(seed);
        initialize(rng);
    }
    explicit Chain(no_initialization_t) {}

    // ---- Layers ----------------------------------------------------------------------
    template <std::size_t I>
    layer_type<I>& layer() { return std::get<I>(layers_); }
    template <std::size_t I>
    const layer_type<I>& layer() const { return std::get<I>(layers_); }

    // Whether this model, or one nested in it, has a layer of that name.
    template <FixedString LayerName>
    static constexpr bool contains() {
        return find_direct<LayerName>() < layer_count || find_nested<LayerName>() < layer_count;
    }

    // The layer of that name, found at compile time, here or in a nested model.
    template <FixedString LayerName>
    auto& get() {
        static_assert(contains<LayerName>(), "get<name>(): this model has no layer of that name");
        if constexpr (find_direct<LayerName>() < layer_count)
            return std::get<find_direct<LayerName>()>(layers_);
        else if constexpr (find_nested<LayerName>() < layer_count)
            return std::get<find_nested<LayerName>()>(layers_).template get<LayerName>();
        else
            return *this;
    }

    // Calls visit(layer, depth) for every layer, depth first; nested models are
    // visited themselves (depth d) and then their layers (depth d + 1).
    template <class Visitor>
    void for_each_layer(Visitor&& visit, int depth = 0) {
        std::apply([&](auto&... layer) { (visit_one(layer, visit, depth), ...); }, layers_);
    }
    template <class Visitor>
    void for_each_layer(Visitor&& visit, int depth = 0) const {
        std::apply([&](const auto&... layer) { (visit_one(layer, visit, depth), ...); }, layers_);
    }

    // Keras's model.summary() table.
    void summary(std::ostream& out = std::cout) const { out << summary_string(*this); }
    // The chapter's table of layers and their trainable flags.
    void print_trainable(std::ostream& out = std::cout) const { out << trainable_table_string(*this); }

    // ---- Parameters and trainable flags (Keras semantics) ------------------------------
    void initialize(Random& rng) {
        std::apply([&](auto&... layer) { (layer.initialize(rng), ...); }, layers_);
    }

    // Every parameter with the path of its layer relative to this model ("dense_1", or
    // "vgg16/block1_conv1" inside a nested model) and the layer's trainable flag.
    template <class Visitor>
    void for_each_parameter(Visitor&& visit, std::string_view prefix = {}) {
        std::apply([&](auto&... layer) { (parameters_of(layer, visit, prefix), ...); }, layers_);
    }
    template <class Visitor>
    void for_each_parameter(Visitor&& visit, std::string_view prefix = {}) const {
        std::apply([&](const auto&... layer) { (parameters_of(layer, visit, prefix), ...); }, layers_);
    }

    // Every state tensor (layers/state.hpp) with its layer's path: what no optimizer sees.
    template <class Visitor>
    void for_each_state(Visitor&& visit, std::string_view prefix = {}) {
        std::apply([&](auto&... layer) { (state_of(layer, visit, prefix), ...); }, layers_);
    }
    template <class Visitor>
    void for_each_state(Visitor&& visit, std::string_view prefix = {}) const {
        std::apply([&](const auto&... layer) { (state_of(layer, visit, prefix), ...); }, layers_);
    }

    // Everything a weights file holds, layer by layer in Keras's order (a layer's
    // parameters, then its state: gamma, beta, moving_mean, moving_variance):
    // visit(path, tensor, trainable), trainable false for state. Parameter and
    // StateVariable share name, shape, values() and set_values().
    template <class Visitor>
    void for_each_weight(Visitor&& visit, std::string_view prefix = {}) {
        std::apply([&](auto&... layer) { (weights_of(layer, visit, prefix), ...); }, layers_);
    }
    template <class Visitor>
    void for_each_weight(Visitor&& visit, std::string_view prefix = {}) const {
        std::apply([&](const auto&... layer) { (weights_of(layer, visit, prefix), ...); }, layers_);
    }

    // Freeze (false) or unfreeze (true) every layer, nested ones included.
    void set_trainable(bool value) {
        for_each_leaf([&](auto& layer) { layer.set_trainable(value); });
    }
    // Set one layer's flag by name; throws std::invalid_argument if there is none.
    void set_trainable(std::string_view layer_name, bool value) {
        bool found = false;
        for_each_leaf([&](auto& layer) {
            if (std::string_view(layer.name) == layer_name) {
                layer.set_trainable(value);
                found = true;
            }
        });
        if (!found) throw std::invalid_argument(no_such_layer(layer_name));
    }
    // Keras's fine-tuning idiom: every layer before `layer_name` frozen, it and every
    // layer after it trainable (nested models are walked in order).
    void set_trainable_from(std::string_view layer_name) {
        bool found = false;
        for_each_leaf([&](auto& layer) {
            found = found || std::string_view(layer.name) == layer_name;
            layer.set_trainable(found);
        });
        if (!found) throw std::invalid_argument(no_such_layer(layer_name));
    }
    // Whether the layer (or any layer, for a nested model) takes updates.
    [[nodiscard]] bool trainable() const {
        bool any = false;
        for_each_leaf([&](const auto& layer) { any = any || layer.trainable; });
        return any;
    }
    [[nodiscard]] bool has_trainable_parameters() const {
        bool any = false;
        for_each_leaf([&](const auto& layer) { any = any || layer.has_trainable_parameters(); });
        return any;
    }
    [[nodiscard]] std::size_t trainable_param_count() const {
        std::size_t count = 0;
        for_each_leaf([&](const auto& layer) { count += layer.trainable_param_count(); });
        return count;
    }
    [[nodiscard]] std::size_t non_trainable_param_count() const { return param_count - trainable_param_count(); }

    // ---- Forward and backward on device pointers ------------------------------------
    // The layer protocol (layers/layer.hpp), so a model nests inside another.
    void forward(const float* x, float* y, std::size_t batch, Mode mode) {
        reserve(batch);
        folded_ = false;
        forward_from<0>(x, y, batch, mode);
    }

    // Backward from dL/dy. Layers before the first one that learns are skipped when
    // dx is null (nobody needs their gradient): frozen blocks cost no backward work.
    void backward(const float* x, const float* y, const float* dy, float* dx, std::size_t batch,
                  bool dy_is_preactivation) {
        const std::size_t stop = dx != nullptr ? 0 : first_learning_layer();
        if (stop >= layer_count) return;
        if (folded_) {  // a backward after a folded inference forward: it needs what folding skipped
            unfold_activations<0>(x, batch);
            folded_ = false;
        }
        backward_from<layer_count - 1>(x, y, dy, dx, batch, dy_is_preactivation, stop);
    }

    // Index of the first layer with parameters that learn (layer_count if none).
    [[nodiscard]] std::size_t first_learning_layer() const {
        std::size_t first = layer_count;
        std::size_t i = 0;
        std::apply([&](const auto&... layer) {
            ((first = (first == layer_count && layer.has_trainable_parameters()) ? i : first, ++i), ...);
        }, layers_);
        return first;
    }

    // Output of layer I (I < layer_count - 1) for the last batch, on the device.
    template <std::size_t I>
    const float* activation_of() const {
        static_assert(I + 1 < layer_count, "activation_of<I>: the last layer writes to the caller's buffer");
        return activations_[I].data();
    }

    // Bytes held in activations and gradients (not parameters) right now.
    [[nodiscard]] std::size_t workspace_bytes() const {
        std::size_t bytes = grads_[0].bytes() + grads_[1].bytes();
        for (const auto& a : activations_) bytes += a.bytes();
        return bytes;
    }

    // Makes room for batches of up to `batch` samples, so the next steps allocate nothing.
    void reserve(std::size_t batch) {
        if (batch <= reserved_batch_) return;
        for (std::size_t i = 0; i + 1 < layer_count; ++i) activations_[i].ensure(batch * layer_output_sizes[i]);
        reserved_batch_ = batch;
    }

private:
    template <FixedString LayerName, std::size_t... I>
    static constexpr std::size_t find_direct_impl(std::index_sequence<I...>) {
        std::size_t found = layer_count;
        ((found = (found == layer_count && layer_type<I>::name == LayerName) ? I : found), ...);
        return found;
    }
    template <FixedString LayerName>
    static constexpr std::size_t find_direct() { return find_direct_impl<LayerName>(indices{}); }

    template <class L, FixedString LayerName>
    static constexpr bool nested_contains() {
        if constexpr (L::is_model)
            return L::template contains<LayerName>();
        else
            return false;
    }
    template <FixedString LayerName, std::size_t... I>
    static constexpr std::size_t find_nested_impl(std::index_sequence<I...>) {
        std::size_t found = layer_count;
        ((found = (found == layer_count && nested_contains<layer_type<I>, LayerName>()) ? I : found), ...);
        return found;
    }
    template <FixedString LayerName>
    static constexpr std::size_t find_nested() { return find_nested_impl<LayerName>(indices{}); }

    template <class Layer, class Visitor>
    static void parameters_of(Layer& layer, Visitor& visit, std::string_view prefix) {
        const std::string path = path_of(layer, prefix);
        if constexpr (std::remove_const_t<Layer>::is_model) {
            layer.for_each_parameter(visit, path);
        } else {
            for (auto& p : layer.parameters()) visit(std::string_view(path), p, layer.trainable);
        }
    }

    // A layer's weights are "<path>/<weight>"; a block adds nothing to the path.
    template <class Layer>
    static std::string path_of(const Layer& layer, std::string_view prefix) {
        if constexpr (is_block_v<std::remove_const_t<Layer>>)
            return std::string(prefix);
        else
            return detail::layer_path(prefix, layer.name.view());
    }

    template <class Layer, class Visitor>
    static void state_of(Layer& layer, Visitor& visit, std::string_view prefix) {
        const std::string path = path_of(layer, prefix);
        if constexpr (std::remove_const_t<Layer>::is_model)
            layer.for_each_state(visit, path);
        else if constexpr (HasState<Layer>)
            for (auto& s : layer.state()) visit(std::string_view(path), s);
    }

    template <class Layer, class Visitor>
    static void weights_of(Layer& layer, Visitor& visit, std::string_view prefix) {
        const std::string path = path_of(layer, prefix);
        if constexpr (std::remove_const_t<Layer>::is_model) {
            layer.for_each_weight(visit, path);
        } else {
            for (auto& p : layer.parameters()) visit(std::string_view(path), p, layer.trainable);
            if constexpr (HasState<Layer>)
                for (auto& s : layer.state()) visit(std::string_view(path), s, false);
        }
    }

    template <class Layer, class Visitor>
    static void visit_one(Layer& layer, Visitor& visit, int depth) {
        if constexpr (is_block_v<std::remove_const_t<Layer>>) {
            layer.for_each_layer(visit, depth);  // its layers, then its merge layer, as the model's own
        } else {
            visit(layer, depth);
            if constexpr (std::remove_const_t<Layer>::is_model) layer.for_each_layer(visit, depth + 1);
        }
    }

    // Leaves: layers that are not themselves models.
    template <class Visitor>
    void for_each_leaf(Visitor&& visit) {
        for_each_layer([&](auto& layer, int) {
            if constexpr (!std::remove_reference_t<decltype(layer)>::is_model) visit(layer);
        });
    }
    template <class Visitor>
    void for_each_leaf(Visitor&& visit) const {
        for_each_layer([&](const auto& layer, int) {
            if constexpr (!std::remove_cvref_t<decltype(layer)>::is_model) visit(layer);
        });
    }

    std::string no_such_layer(std::string_view layer_name) const {
        std::string names;
        for_each_layer([&](const auto& layer, int) { detail::append_listed(names, layer.name.view()); });
        return "no layer named '" + std::string(layer_name) + "' in model '" + std::string(name.view()) +
               "' (its layers: " + names + ")";
    }

    // The outputs a folded forward did not write, from layer I on: each folded convolution's
    // own output and its BatchNormalization's (what their backward and a following ReLU's read).
    template <std::size_t I>
    void unfold_activations(const float* x, std::size_t batch) {
        if constexpr (I < layer_count) {
            if constexpr (folds_at<I>()) {
                const float* in = x;
                if constexpr (I > 0) in = activations_[I - 1].data();
                std::get<I>(layers_).forward(in, activations_[I].data(), batch, Mode::infer);
                if constexpr (I + 2 < layer_count)
                    std::get<I + 1>(layers_).forward(activations_[I].data(), activations_[I + 1].data(), batch,
                                                     Mode::infer);
            }
            unfold_activations<I + 1>(x, batch);
        }
    }

    // call(), timed for forward_profiler() when one is set and layer I is a leaf.
    template <std::size_t I, class Call>
    static void timed(bool folded, Call&& call) {
        if constexpr (!layer_type<I>::is_model && !is_block_v<layer_type<I>>) {
            if (forward_profiler() != nullptr) {
                const auto start = std::chrono::steady_clock::now();
                call();
                detail::report_forward_time(layer_type<I>::name.view(), layer_type<I>::keras_type.view(), folded, start);
                return;
            }
        }
        call();
    }

    // Where layer I writes: the caller's y for the last layer.
    template <std::size_t I>
    float* output_of(float* y) {
        if constexpr (I + 1 == layer_count)
            return y;
        else
            return activations_[I].data();
    }

    // Convolution + BatchNormalization (+ ReLU, capped or not) as one convolution in inference
    // (layers/fold_batch_norm.hpp); returns false where it does not apply.
    template <std::size_t I>
    static constexpr bool folds_at() {
        if constexpr (I + 1 < layer_count)
            return folds_batch_norm_v<layer_type<I>, layer_type<I + 1>>;
        else
            return false;
    }

    template <std::size_t I>
    bool forward_folded(const float* x, float* y, std::size_t batch, Mode mode) {
        if constexpr (folds_at<I>()) {
            if (mode != Mode::infer || !batch_norm_folding()) return false;
            const float *scale = nullptr, *shift = nullptr;
            std::get<I + 1>(layers_).inference_scale_shift(scale, shift);
            // A ReLU after the BatchNormalization folds too, capped for ReLU(max_value).
            constexpr float relu_ceiling = [] {
                if constexpr (I + 2 < layer_count)
                    return detail::folded_relu_ceiling<layer_type<I + 2>>();
                else
                    return 0.0f;
            }();
            constexpr bool with_relu = relu_ceiling > 0.0f;
            constexpr std::size_t last = with_relu ? I + 2 : I + 1;
            float* out = output_of<last>(y);
            timed<I>(true, [&] {
                if constexpr (with_relu)
                    std::get<I>(layers_).forward_folded(x, out, batch, scale, shift, ActivationKind::relu,
                                                        relu_ceiling);
                else
                    std::get<I>(layers_).forward_folded(x, out, batch, scale, shift, ActivationKind::linear);
            });
            folded_ = true;
            if constexpr (last + 1 < layer_count) forward_from<last + 1>(out, y, batch, mode);
            return true;
        } else {
            return false;
        }
    }

    template <std::size_t I>
    void forward_from(const float* x, float* y, std::size_t batch, Mode mode) {
        if (forward_folded<I>(x, y, batch, mode)) return;
        float* out = I + 1 == layer_count ? y : activations_[I].data();
        timed<I>(false, [&] { std::get<I>(layers_).forward(x, out, batch, mode); });
        if constexpr (I + 1 < layer_count) forward_from<I + 1>(out, y, batch, mode);
    }

    template <std::size_t I>
    void backward_from(const float* x, const float* y, const float* dy, float* dx, std::size_t batch,
                       bool dy_is_preactivation, std::size_t stop) {
        const float* out = I + 1 == layer_count ? y : activations_[I].data();
        const float* in = x;
        float* din = dx;  // the first layer's input gradient is the caller's
        if constexpr (I > 0) {
            in = activations_[I - 1].data();
            din = nullptr;
            if (I > stop) {  // an earlier layer learns, so it needs this gradient
                grads_[I % 2].ensure(batch * layer_type<I>::input_shape::size);
                din = grads_[I % 2].data();
            }
        }
        std::get<I>(layers_).backward(in, out, dy, din, batch, dy_is_preactivation && I + 1 == layer_count);
        if constexpr (!layer_type<I>::is_model)  // its gradients are final: data-parallel runs send them now
            if (BackwardListener* listener = backward_listener()) listener->layer_done(&std::get<I>(layers_));
        if constexpr (I > 0) {
            if (I > stop) backward_from<I - 1>(x, y, din, dx, batch, false, stop);
        }
    }

    layers_tuple layers_;
    std::array<Buffer<Device>, layer_count> activations_;  // the last one stays empty
    std::array<Buffer<Device>, 2> grads_;                  // ping-pong dL/d(activation)
    std::size_t reserved_batch_ = 0;
    bool folded_ = false;  // the last forward folded a BatchNormalization (layers/fold_batch_norm.hpp)
};

// A model used as a layer of a bigger one: checks that its Input matches what arrives.
template <class In, class Device, FixedString Name, class Kind, class InputSpec, class SpecList>
class ChainLayer : public Chain<Device, Kind, Name, InputSpec, SpecList> {
    using base = Chain<Device, Kind, Name, InputSpec, SpecList>;
    static constexpr bool input_matches = std::is_same_v<In, typename base::input_shape>;

public:
    // In a function body: one error under every compiler, no cascade (see DenseLayer::ok).
    static constexpr bool ok = [] {
        static_assert(!base::ok || input_matches,
                      "nested model: its Input shape differs from the output of the layer before it "
                      "(in the instantiation above, the first Shape is what arrives and the Input is what the "
                      "model expects)");
        return base::ok && input_matches;
    }();
    ChainLayer() : base(no_initialization) {}
};

}  // namespace typenet
