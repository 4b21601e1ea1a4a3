// typenet/layers/depthwise_conv2d.hpp
// DepthwiseConv2D<kernel, Activation = Linear, Padding = Valid, options..., Bias = UseBias,
//                 depth_multiplier = 1>
// Options, in any order: a stride (default 1) and a name, as for Conv2D. Each input
// channel c is convolved with its own depth_multiplier filters, giving output channels
// c * depth_multiplier + m; weights "depthwise_kernel" (kh, kw, in_c, depth_multiplier)
// (the name Keras 2 and the applications' weight files use; Keras 3 calls it "kernel")
// and "bias" (in_c * depth_multiplier,), glorot_uniform and zeros, as Keras.
//   DepthwiseConv2D<3, Linear, Same, 1, "block_1_depthwise", NoBias>    MobileNetV2's
//   DepthwiseConv2D<3, ReLU, Valid, 2, "", UseBias, 2>                  stride 2, multiplier 2
#pragma once

#include <array>
#include <cstddef>
#include <limits>
#include <span>
#include <type_traits>

#include "typenet/backend/kernels.hpp"
#include "typenet/core/buffer.hpp"
#include "typenet/core/device.hpp"
#include "typenet/core/layer_option.hpp"
#include "typenet/core/shape.hpp"
#include "typenet/layers/activations.hpp"
#include "typenet/layers/fold_batch_norm.hpp"
#include "typenet/layers/layer.hpp"
#include "typenet/layers/padding.hpp"
#include "typenet/layers/parameter.hpp"
#include "typenet/layers/kernel_and_bias.hpp"
#include "typenet/layers/use_bias.hpp"

namespace typenet {

namespace detail {
template <class In, std::size_t Kernel, class Pad, std::size_t Stride, std::size_t Multiplier>
struct depthwise_shapes {
    using padding = std::conditional_t<is_padding_v<Pad>, Pad, Valid>;
    static constexpr std::size_t in_h = dim_or_one<In, 0>, in_w = dim_or_one<In, 1>, in_c = dim_or_one<In, 2>;
    static constexpr std::size_t filters = in_c * Multiplier;
    static constexpr std::size_t out_h = padding::out(in_h, Kernel, Stride), out_w = padding::out(in_w, Kernel, Stride);
    static constexpr ConvGeometry geometry{in_h, in_w, in_c, Kernel, Kernel, filters, Stride, Stride,
                                           padding::pad_before(in_h, Kernel, Stride),
                                           padding::pad_before(in_w, Kernel, Stride), out_h, out_w};
};
}  // namespace detail

template <class In, class Device, FixedString Name, std::size_t Kernel, class Act, class Pad, std::size_t Stride,
          bool HasBias, std::size_t Multiplier>
class DepthwiseConv2DLayer
    : public LayerBase<In,
                       Shape<detail::depthwise_shapes<In, Kernel, Pad, Stride, Multiplier>::out_h,
                             detail::depthwise_shapes<In, Kernel, Pad, Stride, Multiplier>::out_w,
                             dim_or_one<In, 2> * Multiplier>,
                       Name, "DepthwiseConv2D",
                       (Kernel * Kernel + (HasBias ? 1 : 0)) * dim_or_one<In, 2> * Multiplier,
                       std::conditional_t<is_activation_v<Act>, Act, Linear>>,
      public KernelAndBias<Device, HasBias> {
    using shapes = detail::depthwise_shapes<In, Kernel, Pad, Stride, Multiplier>;

    // The rules, in the order they are checked; each fires only if the ones before held.
    static constexpr bool spec_ok = is_activation_v<Act> && is_padding_v<Pad> && Kernel > 0 && Multiplier > 0;
    static constexpr bool rank_ok = In::rank == 3;
    static constexpr bool fits = std::is_same_v<Pad, Same> || (Kernel <= shapes::in_h && Kernel <= shapes::in_w);

public:
    // In a function body: one error under every compiler, no cascade (see DenseLayer::ok).
    static constexpr bool ok = [] {
        static_assert(is_activation_v<Act>,
                      "DepthwiseConv2D: the second argument must be an activation: tn::ReLU, tn::Sigmoid, "
                      "tn::Softmax or tn::Linear");
        static_assert(!is_activation_v<Act> || is_padding_v<Pad>,
                      "DepthwiseConv2D: the third argument must be a padding: tn::Valid or tn::Same");
        static_assert(!(is_activation_v<Act> && is_padding_v<Pad>) || (Kernel > 0 && Multiplier > 0),
                      "DepthwiseConv2D: kernel size and depth_multiplier must be at least 1");
        static_assert(!spec_ok || rank_ok,
                      "DepthwiseConv2D needs an image input (height, width, channels), but its input is flat: "
                      "it cannot come after Flatten or Dense");
        static_assert(!(spec_ok && rank_ok) || fits,
                      "DepthwiseConv2D kernel is larger than its input (the instantiation above shows the layer's "
                      "name and input Shape): use a smaller kernel, padding tn::Same, or a larger input");
        return spec_ok && rank_ok && fits;
    }();
    static constexpr ConvGeometry geometry = shapes::geometry;
    static constexpr std::size_t kernel_size = Kernel, stride = Stride, depth_multiplier = Multiplier;
    using padding = Pad;
    using weights = KernelAndBias<Device, HasBias>;
    using weights::bias;

    DepthwiseConv2DLayer() : weights("depthwise_kernel", {Kernel, Kernel, shapes::in_c, Multiplier}, shapes::filters) {}

    // Keras's name for the kernel.
    Parameter<Device>& depthwise_kernel() { return this->kernel(); }
    const Parameter<Device>& depthwise_kernel() const { return this->kernel(); }

    void initialize(Random& rng) {
        // Keras's fans for a (kh, kw, in_c, multiplier) kernel: in_c and multiplier times the taps.
        constexpr std::size_t taps = Kernel * Kernel;
        this->initialize_glorot_uniform(taps * shapes::in_c, taps * Multiplier, rng);
    }

    void forward(const float* x, float* y, std::size_t batch, Mode) {
        Kernels<Device>::depthwise_conv2d_forward(geometry, x, batch, depthwise_kernel().value.data(), this->bias_values(), y,
                                                  Act::kind);
    }

    void backward(const float* x, const float* y, const float* dy, float* dx, std::size_t batch,
                  bool dy_is_preactivation) {
        const float* dz = this->preactivation_gradient(y, dy, batch * geometry.out_pixels(), shapes::filters,
                                                       Act::kind, dy_is_preactivation);
        const bool learn = this->trainable;
        Kernels<Device>::depthwise_conv2d_backward(geometry, x, batch, depthwise_kernel().value.data(), dz, dx,
                                                   learn ? depthwise_kernel().grad.data() : nullptr,
                                                   this->bias_gradients(learn));
    }

    // A following BatchNormalization folds in for inference (layers/fold_batch_norm.hpp).
    static constexpr bool folds_batch_norm = std::is_same_v<Device, cpu> && std::is_same_v<Act, Linear>;

    // forward() and then y * scale + shift per output channel, as one depthwise convolution;
    // a finite relu_ceiling caps act relu (a ReLU(max_value) after the BatchNormalization).
    void forward_folded(const float* x, float* y, std::size_t batch, const float* scale, const float* shift,
                        ActivationKind act, float relu_ceiling = std::numeric_limits<float>::infinity()) {
        const float* k = this->fold_batch_norm(shapes::filters, scale, shift);
        Kernels<Device>::depthwise_conv2d_forward_capped(geometry, x, batch, k, k + depthwise_kernel().size(), y,
                                                         act, relu_ceiling);
    }
};

template <std::size_t Kernel, class Activation = Linear, class Padding = Valid, LayerOption Option1 = LayerOption{},
          LayerOption Option2 = LayerOption{}, class Bias = UseBias, std::size_t DepthMultiplier = 1>
struct DepthwiseConv2D {
    static_assert(is_bias_option_v<Bias>, "DepthwiseConv2D: the sixth argument must be tn::UseBias or tn::NoBias");
    static constexpr FixedString auto_prefix = "depthwise_conv2d";
    static constexpr FixedString explicit_name = option_name<Option1, Option2>();
    static constexpr std::size_t stride = option_number<1, Option1, Option2>();

    template <class In, class Device, FixedString Name>
    using bind = DepthwiseConv2DLayer<In, Device, Name, Kernel, Activation, Padding, stride,
                                      is_bias_option_v<Bias> ? Bias::value : true, DepthMultiplier>;
};

}  // namespace typenet
