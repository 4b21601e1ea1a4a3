// typenet/train/losses.hpp
// The losses of Keras 2, as values passed to compile():
//
//   tn::compile(model, tn::BinaryCrossentropy{}, optimizer)             sigmoid output, 0/1 labels
//   tn::compile(model, tn::CategoricalCrossentropy{}, optimizer)        softmax output, one-hot labels
//   tn::compile(model, tn::SparseCategoricalCrossentropy{}, optimizer)  softmax output, class indices
//
// Each is the mean over the batch of Keras's per-sample loss, with Keras's accuracy
// metric for it (binary_accuracy, categorical_accuracy, sparse_categorical_accuracy).
// When the model ends in the activation the loss expects, the gradient skips that
// activation: d loss / d pre-activation = (p - y) / batch, which is exact and never
// divides by a tiny p (Keras 2.2 got there through a clip and a log instead).
// `from_logits = true` takes a Linear last layer's raw scores, as Keras's option.
#pragma once

#include <concepts>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

#include "typenet/backend/kernels.hpp"

namespace typenet {

// One loss of LossKind: its Keras name, the activation whose gradient it fuses, and
// how many floats a label has for a model with `outputs` outputs.
template <LossKind Kind>
struct Crossentropy {
    bool from_logits = false;

    static constexpr LossKind kind = Kind;
    static constexpr std::string_view name = Kind == LossKind::binary_crossentropy        ? "binary_crossentropy"
                                             : Kind == LossKind::categorical_crossentropy ? "categorical_crossentropy"
                                                                                          : "sparse_categorical_crossentropy";
    static constexpr ActivationKind fused_activation =
        Kind == LossKind::binary_crossentropy ? ActivationKind::sigmoid : ActivationKind::softmax;
    // The sparse loss takes one class index per sample.
    static constexpr std::size_t label_size(std::size_t outputs) {
        return Kind == LossKind::sparse_categorical_crossentropy ? 1 : outputs;
    }
};

using BinaryCrossentropy = Crossentropy<LossKind::binary_crossentropy>;
using CategoricalCrossentropy = Crossentropy<LossKind::categorical_crossentropy>;
using SparseCategoricalCrossentropy = Crossentropy<LossKind::sparse_categorical_crossentropy>;

template <class L>
concept LossFunction = requires(const L& loss) {
    { L::kind } -> std::convertible_to<LossKind>;
    { L::name } -> std::convertible_to<std::string_view>;
    { loss.from_logits } -> std::convertible_to<bool>;
};

// How a loss meets the model's last activation: which gradient the loss kernel gives,
// and whether backward must still go through that activation.
struct LossWiring {
    bool from_logits = false;
    bool wrt_preactivation = false;  // the fused (p - y) gradient; backward skips the last activation
};

// Throws std::invalid_argument for a pairing that cannot train: logits from a layer
// that squashes them, or probabilities from a layer that does not.
template <LossFunction L>
LossWiring wire_loss(const L& loss, ActivationKind last) {
    if (loss.from_logits) {
        if (last != ActivationKind::linear)
            throw std::invalid_argument(std::string(L::name) + " with from_logits = true needs raw scores, but the "
                                        "model's last layer applies " + std::string(activation_name(last)) +
                                        ": make the last layer tn::Linear, or drop from_logits");
        return {true, true};
    }
    if (last == ActivationKind::linear)
        throw std::invalid_argument(std::string(L::name) + " expects probabilities, but the model's last layer is "
                                    "linear: give it tn::" + (L::fused_activation == ActivationKind::sigmoid ? "Sigmoid" : "Softmax") +
                                    ", or use from_logits = true");
    return {false, last == L::fused_activation};
}

}  // namespace typenet
