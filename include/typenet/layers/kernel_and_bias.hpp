// typenet/layers/kernel_and_bias.hpp
// The weights of Dense, Conv2D and DepthwiseConv2D: a kernel and, with Keras's use_bias,
// a bias (layers/use_bias.hpp), with the accessors the three share, and the step their
// backward passes share: dy turned into dL/d(pre-activation) of the fused activation; and
// Keras's initializers and the BatchNormalization fold, which take the layer's sizes as
// values: these compile once per device, not once per layer (docs/performance.md).
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "typenet/backend/kernels.hpp"
#include "typenet/core/buffer.hpp"
#include "typenet/core/random.hpp"
#include "typenet/layers/fold_batch_norm.hpp"
#include "typenet/layers/parameter.hpp"

namespace typenet {

template <class Device, bool HasBias>
class KernelAndBias {
public:
    static constexpr bool use_bias = HasBias;

    // kernel_name: Keras's name for it ("kernel", "depthwise_kernel"); the bias has bias_size values.
    KernelAndBias(std::string_view kernel_name, std::vector<std::size_t> kernel_shape, std::size_t bias_size)
        : params_(make_parameters(kernel_name, std::move(kernel_shape), bias_size)) {}

    std::span<Parameter<Device>> parameters() { return params_; }
    std::span<const Parameter<Device>> parameters() const { return params_; }
    Parameter<Device>& kernel() { return params_[0]; }
    const Parameter<Device>& kernel() const { return params_[0]; }
    Parameter<Device>& bias()
        requires HasBias
    {
        return params_[1];
    }
    const Parameter<Device>& bias() const
        requires HasBias
    {
        return params_[1];
    }

    // Keras's initializers: a glorot_uniform kernel with these fans, a zero bias.
    void initialize_glorot_uniform(std::size_t fan_in, std::size_t fan_out, Random& rng) {
        kernel().set_values(glorot_uniform(kernel().size(), fan_in, fan_out, rng));
        if constexpr (HasBias) bias().value.zero();
    }

protected:
    // The kernel and bias with a following BatchNormalization's y * scale + shift per output
    // channel folded in (layers/fold_batch_norm.hpp), in a buffer of the layer: `outputs`
    // bias values after the kernel's. Inference only, host memory.
    float* fold_batch_norm(std::size_t outputs, const float* scale, const float* shift) {
        const std::size_t size = kernel().size();
        folded_.ensure(size + outputs);
        float* k = folded_.data();
        detail::fold_scale_shift(kernel().value.data(), size / outputs, outputs, bias_values(), scale, shift, k,
                                 k + size);
        return k;
    }

    // The bias values for a kernel call: null without a bias.
    const float* bias_values() const {
        if constexpr (HasBias)
            return params_[1].value.data();
        else
            return nullptr;
    }
    // Where backward writes dL/dbias: null without a bias, or when the layer does not learn.
    float* bias_gradients(bool learn) {
        if constexpr (HasBias)
            return learn ? params_[1].grad.data() : nullptr;
        else
            return nullptr;
    }

    // dL/d(pre-activation) of `rows` rows of `cols` outputs: dy itself when it already is
    // (a fused loss) or the activation is linear, else computed into a buffer of the layer.
    const float* preactivation_gradient(const float* y, const float* dy, std::size_t rows, std::size_t cols,
                                        ActivationKind kind, bool dy_is_preactivation) {
        if (dy_is_preactivation || kind == ActivationKind::linear) return dy;
        dz_.ensure(rows * cols);
        Kernels<Device>::activation_backward(y, dy, dz_.data(), rows, cols, kind);
        return dz_.data();
    }

private:
    static auto make_parameters(std::string_view kernel_name, std::vector<std::size_t> kernel_shape,
                                std::size_t bias_size) {
        if constexpr (HasBias)
            return std::array<Parameter<Device>, 2>{Parameter<Device>{kernel_name, std::move(kernel_shape)},
                                                    Parameter<Device>{"bias", {bias_size}}};
        else
            return std::array<Parameter<Device>, 1>{Parameter<Device>{kernel_name, std::move(kernel_shape)}};
    }

    std::array<Parameter<Device>, HasBias ? 2 : 1> params_;
    Buffer<Device> dz_;
    Buffer<Device> folded_;  // fold_batch_norm's
};

}  // namespace typenet
