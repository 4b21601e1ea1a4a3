// typenet/layers/conv2d.hpp
// Conv2D<filters, kernel, Activation = Linear, Padding = Valid, options..., Bias = UseBias>
// Options, in any order: a stride (integer, default 1) and a name ("block1_conv1").
// Bias: tn::UseBias, or tn::NoBias for Keras's use_bias=False (no "bias" weight at all).
//   Conv2D<16, 3, ReLU>                          Keras: Conv2D(16, (3, 3), activation='relu')
//   Conv2D<64, 3, ReLU, Same, "block1_conv1">    named, 'same' padding
//   Conv2D<32, 3, ReLU, Valid, 2>                stride 2
//   Conv2D<32, 3, Linear, Same, 2, "Conv1", NoBias>   MobileNetV2's first convolution
// Cross-correlation (no kernel flip), NHWC, kernel (kh, kw, cin, cout), glorot_uniform
// kernel and zero bias, as Keras.
#pragma once

#include <array>
#include <cstddef>
#include <limits>
#include <span>
#include <type_traits>

#include "typenet/backend/kernels.hpp"
#include "typenet/core/buffer.hpp"
#include "typenet/core/layer_option.hpp"
#include "typenet/core/shape.hpp"
#include "typenet/core/device.hpp"
#include "typenet/core/precision.hpp"
#include "typenet/layers/activations.hpp"
#include "typenet/layers/fold_batch_norm.hpp"
#include "typenet/layers/layer.hpp"
#include "typenet/layers/padding.hpp"
#include "typenet/layers/parameter.hpp"
#include "typenet/layers/kernel_and_bias.hpp"
#include "typenet/layers/use_bias.hpp"

namespace typenet {

template <class In, class Device, FixedString Name, std::size_t Filters, std::size_t Kernel, class Act, class Pad,
          std::size_t Stride, bool HasBias = true>
class Conv2DLayer;

template <std::size_t Filters, std::size_t Kernel, class Activation = Linear, class Padding = Valid,
          LayerOption Option1 = LayerOption{}, LayerOption Option2 = LayerOption{}, class Bias = UseBias>
struct Conv2D {
    static_assert(is_bias_option_v<Bias>, "Conv2D: the seventh argument must be tn::UseBias or tn::NoBias");
    static constexpr FixedString auto_prefix = "conv2d";
    // Each option once; checked in a function body, so a duplicate is one error (see DenseLayer::ok).
    static constexpr FixedString explicit_name = [] {
        static_assert(option_name_count<Option1, Option2>() <= 1,
                      "Conv2D: a name is given twice (Conv2D<16, 3, ReLU, Same, \"first\", \"second\">): a layer "
                      "has one name");
        static_assert(option_number_count<Option1, Option2>() <= 1,
                      "Conv2D: a stride is given twice (Conv2D<16, 3, ReLU, Valid, 2, 3>): a layer has one stride");
        return option_name<Option1, Option2>();
    }();
    static constexpr std::size_t stride = option_number<1, Option1, Option2>();

    template <class In, class Device, FixedString Name>
    using bind = Conv2DLayer<In, Device, Name, Filters, Kernel, Activation, Padding, stride,
                             is_bias_option_v<Bias> ? Bias::value : true>;
};

namespace detail {
// Shape arithmetic of a convolution, guarded so that a reported misuse cannot
// produce absurd sizes downstream.
template <class In, std::size_t Filters, std::size_t Kernel, class Pad, std::size_t Stride>
struct conv2d_shapes {
    static constexpr bool padding_known = is_padding_v<Pad>;
    using padding = std::conditional_t<padding_known, Pad, Valid>;
    static constexpr std::size_t in_h = dim_or_one<In, 0>, in_w = dim_or_one<In, 1>, in_c = dim_or_one<In, 2>;
    static constexpr std::size_t out_h = padding::out(in_h, Kernel, Stride);
    static constexpr std::size_t out_w = padding::out(in_w, Kernel, Stride);
    static constexpr ConvGeometry geometry{in_h, in_w, in_c, Kernel, Kernel, Filters, Stride, Stride,
                                           padding::pad_before(in_h, Kernel, Stride),
                                           padding::pad_before(in_w, Kernel, Stride), out_h, out_w};
};
}  // namespace detail

template <class In, class Device, FixedString Name, std::size_t Filters, std::size_t Kernel, class Act, class Pad,
          std::size_t Stride, bool HasBias>
class Conv2DLayer
    : public LayerBase<In,
                       Shape<detail::conv2d_shapes<In, Filters, Kernel, Pad, Stride>::out_h,
                             detail::conv2d_shapes<In, Filters, Kernel, Pad, Stride>::out_w, Filters>,
                       Name, "Conv2D", (Kernel * Kernel * dim_or_one<In, 2> + (HasBias ? 1 : 0)) * Filters,
                       std::conditional_t<is_activation_v<Act>, Act, Linear>>,
      public KernelAndBias<Device, HasBias> {
    using shapes = detail::conv2d_shapes<In, Filters, Kernel, Pad, Stride>;

    // The rules, in the order they are checked; each fires only if the ones before held.
    static constexpr bool spec_ok = is_activation_v<Act> && is_padding_v<Pad> && Filters > 0 && Kernel > 0;
    static constexpr bool rank_ok = In::rank == 3;
    static constexpr bool fits = std::is_same_v<Pad, Same> || (Kernel <= shapes::in_h && Kernel <= shapes::in_w);

public:
    // In a function body: one error under every compiler, no cascade (see DenseLayer::ok).
    static constexpr bool ok = [] {
        static_assert(is_activation_v<Act>, "Conv2D: the third argument must be an activation: tn::ReLU, "
                                            "tn::Sigmoid, tn::Softmax or tn::Linear");
        static_assert(!is_activation_v<Act> || is_padding_v<Pad>,
                      "Conv2D: the fourth argument must be a padding: tn::Valid or tn::Same");
        static_assert(!(is_activation_v<Act> && is_padding_v<Pad>) || (Filters > 0 && Kernel > 0),
                      "Conv2D: filters and kernel size must be at least 1");
        static_assert(!spec_ok || rank_ok,
                      "Conv2D needs an image input (height, width, channels), but its input is flat: "
                      "Conv2D cannot come after Flatten or Dense");
        static_assert(!(spec_ok && rank_ok) || fits,
                      "Conv2D kernel is larger than its input (the instantiation above shows the layer's name and "
                      "input Shape): "
                      "use a smaller kernel, padding tn::Same, or a larger input");
        return spec_ok && rank_ok && fits;
    }();
    static constexpr ConvGeometry geometry = shapes::geometry;
    static constexpr std::size_t kernel_size = Kernel, filters = Filters, stride = Stride;
    using padding = Pad;
    using weights = KernelAndBias<Device, HasBias>;
    using weights::bias;
    using weights::kernel;

    Conv2DLayer() : weights("kernel", {Kernel, Kernel, shapes::in_c, Filters}, Filters) {}

    void initialize(Random& rng) {
        constexpr std::size_t receptive = Kernel * Kernel;
        this->initialize_glorot_uniform(receptive * shapes::in_c, receptive * Filters, rng);
    }

    void forward(const float* x, float* y, std::size_t batch, Mode mode) {
        if constexpr (std::is_same_v<Device, cpu>)
            if (bf16_inference<Device>(mode))  // opt-in, core/precision.hpp
                return Kernels<Device>::conv2d_forward_bf16(geometry, x, batch, kernel().value.data(),
                                                            this->bias_values(), y, Act::kind,
                                                            std::numeric_limits<float>::infinity());
        Kernels<Device>::conv2d_forward(geometry, x, batch, kernel().value.data(), this->bias_values(), y, Act::kind,
                                        workspace_);
    }

    void backward(const float* x, const float* y, const float* dy, float* dx, std::size_t batch,
                  bool dy_is_preactivation) {
        const float* dz =
            this->preactivation_gradient(y, dy, batch * geometry.out_pixels(), Filters, Act::kind, dy_is_preactivation);
        const bool learn = this->trainable;
        Kernels<Device>::conv2d_backward(geometry, x, batch, kernel().value.data(), dz, dx,
                                         learn ? kernel().grad.data() : nullptr, this->bias_gradients(learn),
                                         workspace_);
    }

    // A following BatchNormalization folds in for inference (layers/fold_batch_norm.hpp).
    static constexpr bool folds_batch_norm = std::is_same_v<Device, cpu> && std::is_same_v<Act, Linear>;

    // forward() and then y * scale + shift per filter, as one convolution with activation act
    // (inference only: in bf16 when that precision is set); a finite relu_ceiling caps act relu
    // (a ReLU(max_value) after the BatchNormalization).
    void forward_folded(const float* x, float* y, std::size_t batch, const float* scale, const float* shift,
                        ActivationKind act, float relu_ceiling = std::numeric_limits<float>::infinity()) {
        const float* k = this->fold_batch_norm(Filters, scale, shift);
        if constexpr (std::is_same_v<Device, cpu>)
            if (bf16_inference<Device>(Mode::infer))
                return Kernels<Device>::conv2d_forward_bf16(geometry, x, batch, k, k + kernel().size(), y, act,
                                                            relu_ceiling);
        Kernels<Device>::conv2d_forward_capped(geometry, x, batch, k, k + kernel().size(), y, act, relu_ceiling);
    }

private:
    Buffer<Device> workspace_;
};

}  // namespace typenet
