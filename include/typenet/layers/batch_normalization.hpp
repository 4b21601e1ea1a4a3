// typenet/layers/batch_normalization.hpp
// BatchNormalization<momentum = 0.99f, epsilon = 1e-3f, Name = "">, per channel (the last
// axis, Keras's axis=-1), as Keras:
//   training (Mode::train on a trainable layer): normalise with the batch's mean and biased
//     variance; then moving = moving * momentum + batch * (1 - momentum) (Keras 3 uses the
//     biased variance there too);
//   inference (Mode::infer, or a frozen layer): gamma (x - moving_mean) / sqrt(moving_variance
//     + epsilon) + beta.
// gamma and beta are trainable parameters; moving_mean and moving_variance are state
// (layers/state.hpp): saved, loaded and counted ("Non-trainable params"), never updated by
// an optimizer. A frozen layer (trainable = false) runs in inference mode even in fit(),
// TensorFlow 2's rule; the book's Keras 2.1 froze gamma and beta but kept normalising with
// the batch's statistics in training (docs/models.md).
// Data-parallel training: the trainer sets a BatchStatisticsSum (core/batch_statistics.hpp)
// for its steps, and the statistics (and, in backward, the two per-channel sums dx needs)
// are those of the whole global batch, summed over the ranks: N ranks normalise as one
// process does (CPU; on the GPU such a step is refused, docs/distributed.md).
//   BatchNormalization<>                            Keras: BatchNormalization()
//   BatchNormalization<0.99f, 1.001e-5f, "conv1_bn">  ResNet-50's
//   BatchNormalization<0.999f, 1e-3f, "bn_Conv1">     MobileNetV2's
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "typenet/backend/cpu/batch_norm.hpp"
#include "typenet/backend/kernels.hpp"
#include "typenet/core/batch_statistics.hpp"
#include "typenet/core/buffer.hpp"
#include "typenet/core/device.hpp"
#include "typenet/core/shape.hpp"
#include "typenet/layers/layer.hpp"
#include "typenet/layers/parameter.hpp"
#include "typenet/layers/state.hpp"

namespace typenet {

namespace detail {

// What every BatchNormalization does, whatever its shape and name: its weights and the
// kernels' calls, with the channel count, momentum and epsilon as values. A class per
// device, not per layer, so that a ResNet-50's 53 BatchNormalizations compile this code
// once (compile time is part of speed: docs/performance.md); the layer type below keeps
// the compile-time shape, name and rules.
template <class Device>
class BatchNormalizationWeights {
public:
    BatchNormalizationWeights(std::size_t channels, float momentum, float epsilon)
        : params_{Parameter<Device>{"gamma", {channels}}, Parameter<Device>{"beta", {channels}}},
          state_{StateVariable<Device>{"moving_mean", {channels}},
                 StateVariable<Device>{"moving_variance", {channels}}},
          channels_(channels), momentum_(momentum), epsilon_(epsilon) {}

    std::span<Parameter<Device>> parameters() { return params_; }
    std::span<const Parameter<Device>> parameters() const { return params_; }
    std::span<StateVariable<Device>> state() { return state_; }
    std::span<const StateVariable<Device>> state() const { return state_; }
    Parameter<Device>& gamma() { return params_[0]; }
    Parameter<Device>& beta() { return params_[1]; }
    StateVariable<Device>& moving_mean() { return state_[0]; }
    StateVariable<Device>& moving_variance() { return state_[1]; }
    const Parameter<Device>& gamma() const { return params_[0]; }
    const Parameter<Device>& beta() const { return params_[1]; }
    const StateVariable<Device>& moving_mean() const { return state_[0]; }
    const StateVariable<Device>& moving_variance() const { return state_[1]; }

    // Keras's initializers: gamma ones, beta zeros, moving mean zeros, moving variance ones.
    void initialize(Random&) {
        gamma().set_values(std::vector<float>(channels_, 1.0f));
        beta().value.zero();
        moving_mean().value.zero();
        moving_variance().fill(1.0f);
    }

    // Inference mode as y = x * scale + shift per channel, with the scale and shift forward()
    // computes (bn_detail::normalise), for folding into the convolution before it
    // (layers/fold_batch_norm.hpp); backward() then runs as after an inference forward().
    // On the CPU only (the pointers are host memory).
    void inference_scale_shift(const float*& scale, const float*& shift) {
        mean_.ensure(channels_);
        inv_std_.ensure(channels_);
        scale_shift_.ensure(2 * channels_);
        batch_statistics_ = false;
        float* s = scale_shift_.data();
        const float* g = gamma().value.data();
        const float* b = beta().value.data();
        const float* m = moving_mean().value.data();
        const float* v = moving_variance().value.data();
        for (std::size_t c = 0; c < channels_; ++c) {
            mean_.data()[c] = m[c];
            inv_std_.data()[c] = 1.0f / std::sqrt(v[c] + epsilon_);
            s[c] = g[c] * inv_std_.data()[c];
            s[channels_ + c] = b[c] - m[c] * s[c];
        }
        scale = s;
        shift = s + channels_;
    }

protected:
    // rows = pixels of the batch; with the batch's statistics (training) or the moving ones.
    void normalize_rows(const float* x, float* y, std::size_t rows, bool batch_statistics, std::string_view layer) {
        mean_.ensure(channels_);
        inv_std_.ensure(channels_);
        batch_statistics_ = batch_statistics;
        if (BatchStatisticsSum* across = batch_statistics_sum(); batch_statistics_ && across != nullptr) {
            if constexpr (std::is_same_v<Device, cpu>)
                cpu_kernels::batchnorm_forward_training_across(
                    x, rows, channels_, gamma().value.data(), beta().value.data(), epsilon_, momentum_, y,
                    mean_.data(), inv_std_.data(), moving_mean().value.data(), moving_variance().value.data(), across);
            else
                throw std::logic_error(std::string(layer) +
                                       ": batch statistics summed over ranks are implemented on the CPU only");
        } else if (batch_statistics_)
            Kernels<Device>::batchnorm_forward_training(x, rows, channels_, gamma().value.data(), beta().value.data(),
                                                        epsilon_, momentum_, y, mean_.data(), inv_std_.data(),
                                                        moving_mean().value.data(), moving_variance().value.data());
        else
            Kernels<Device>::batchnorm_forward_inference(x, rows, channels_, gamma().value.data(), beta().value.data(),
                                                         moving_mean().value.data(), moving_variance().value.data(),
                                                         epsilon_, y, mean_.data(), inv_std_.data());
    }

    // Through the statistics the last forward used; gamma's and beta's gradients if learn.
    void backward_rows(const float* x, const float* dy, float* dx, std::size_t rows, bool learn) {
        if constexpr (std::is_same_v<Device, cpu>)
            if (BatchStatisticsSum* across = batch_statistics_sum(); batch_statistics_ && across != nullptr) {
                cpu_kernels::batchnorm_backward_across(x, dy, rows, channels_, gamma().value.data(), mean_.data(),
                                                       inv_std_.data(), true, dx,
                                                       learn ? gamma().grad.data() : nullptr,
                                                       learn ? beta().grad.data() : nullptr, across);
                return;
            }
        Kernels<Device>::batchnorm_backward(x, dy, rows, channels_, gamma().value.data(), mean_.data(),
                                            inv_std_.data(), batch_statistics_, dx,
                                            learn ? gamma().grad.data() : nullptr, learn ? beta().grad.data() : nullptr);
    }

private:
    std::array<Parameter<Device>, 2> params_;
    std::array<StateVariable<Device>, 2> state_;
    std::size_t channels_;
    float momentum_, epsilon_;
    Buffer<Device> mean_, inv_std_;  // the statistics of the last forward, for backward
    Buffer<Device> scale_shift_;     // inference_scale_shift's
    bool batch_statistics_ = false;
};

}  // namespace detail

template <class In, class Device, FixedString Name, float Momentum, float Epsilon>
class BatchNormalizationLayer
    : public LayerBase<In, In, Name, "BatchNormalization", 4 * dim_or_one<In, In::rank - 1>, Linear,
                       2 * dim_or_one<In, In::rank - 1>>,
      public detail::BatchNormalizationWeights<Device> {
    static constexpr bool spec_ok = Momentum >= 0.0f && Momentum <= 1.0f && Epsilon > 0.0f;
    static_assert(Momentum >= 0.0f && Momentum <= 1.0f,
                  "BatchNormalization: momentum must be in [0, 1] (Keras's default is 0.99)");
    static_assert(Epsilon > 0.0f, "BatchNormalization: epsilon must be positive (Keras's default is 1e-3)");
    using weights = detail::BatchNormalizationWeights<Device>;

public:
    static constexpr bool ok = spec_ok;
    static constexpr std::size_t channels = dim_or_one<In, In::rank - 1>;
    static constexpr float momentum = Momentum, epsilon = Epsilon;
    static constexpr bool is_batch_normalization = true;  // folds into a convolution (fold_batch_norm.hpp)

    BatchNormalizationLayer() : weights(channels, Momentum, Epsilon) {}

    // Whether forward(..., mode) normalises with the batch's statistics.
    [[nodiscard]] bool uses_batch_statistics(Mode mode) const { return mode == Mode::train && this->trainable; }

    void forward(const float* x, float* y, std::size_t batch, Mode mode) {
        this->normalize_rows(x, y, batch * In::size / channels, uses_batch_statistics(mode), Name.view());
    }

    void backward(const float* x, const float*, const float* dy, float* dx, std::size_t batch, bool) {
        this->backward_rows(x, dy, dx, batch * In::size / channels, this->trainable);
    }
};

template <float Momentum = 0.99f, float Epsilon = 1e-3f, FixedString Name = "">
struct BatchNormalization {
    static constexpr FixedString auto_prefix = "batch_normalization";
    static constexpr FixedString explicit_name = Name;

    template <class In, class Device, FixedString LayerName>
    using bind = BatchNormalizationLayer<In, Device, LayerName, Momentum, Epsilon>;
};

}  // namespace typenet
