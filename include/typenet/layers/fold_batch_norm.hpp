// typenet/layers/fold_batch_norm.hpp
// BatchNormalization folded into the convolution before it, for inference: a
// BatchNormalization in inference mode is y = x * scale + shift per channel (scale =
// gamma / sqrt(moving_variance + epsilon), shift = beta - moving_mean * scale), so
// Conv2D or DepthwiseConv2D (linear activation) followed by it is one convolution with
// kernel columns times scale and bias b * scale + shift. Same values within float
// rounding (tests/train/test_fold_batch_norm.cpp); one pass over the activations instead
// of two, and no BN output write. A ReLU Activation or ReLU() layer right after folds in
// too (the convolution kernels apply it before the store), and so does a ReLU with a
// ceiling (Keras ReLU(max_value=6.), MobileNetV2's ReLU6 after every Conv2D + BN and
// DepthwiseConv2D + BN but the projections): min(max(y, 0), max_value) in the same store
// (backend/cpu/relu_clamp.hpp), so it costs no pass of its own.
//
// The chain (model/chain.hpp) folds on the CPU in Mode::infer only, so training, and
// every Keras parity test of training, runs the unfolded layers. The folded weights are
// recomputed on every call (cheap next to the convolution, and never stale after
// training or loading weights). While folded, the convolution's and the
// BatchNormalization's own outputs are not written (activation_of<> of those two layers
// holds stale values); a backward() after such a forward first computes them (gradient
// checks in inference mode, say). tn::set_batch_norm_folding(false) turns folding off.
#pragma once

#include <cstddef>
#include <limits>
#include <type_traits>


namespace typenet {

inline bool& batch_norm_folding_flag() {
    static bool on = true;
    return on;
}
// Whether inference folds BatchNormalization into the convolution before it (default on).
inline void set_batch_norm_folding(bool on) { batch_norm_folding_flag() = on; }
[[nodiscard]] inline bool batch_norm_folding() { return batch_norm_folding_flag(); }

namespace detail {
// kernel (taps x filters, the filters innermost) and bias (or none) with the per-filter
// y * scale + shift after them, as one kernel and bias.
inline void fold_scale_shift(const float* kernel, std::size_t taps, std::size_t filters, const float* bias,
                             const float* scale, const float* shift, float* folded_kernel, float* folded_bias) {
    for (std::size_t t = 0; t < taps; ++t)
        for (std::size_t f = 0; f < filters; ++f) folded_kernel[t * filters + f] = kernel[t * filters + f] * scale[f];
    for (std::size_t f = 0; f < filters; ++f)
        folded_bias[f] = (bias != nullptr ? bias[f] * scale[f] : 0.0f) + shift[f];
}

template <class L>
concept FoldsBatchNormIn = requires { L::folds_batch_norm; } && L::folds_batch_norm;
template <class L>
concept BatchNormInference = requires { L::is_batch_normalization; } && L::is_batch_normalization;
template <class L>
concept ReLUActivationLayer = requires { L::is_relu_activation; } && L::is_relu_activation;
template <class L>
concept CappedReLULayer = requires { L::is_capped_relu; } && L::is_capped_relu;

// The ReLU a convolution + BatchNormalization folds when bound layer L follows them:
// none (0), a plain ReLU (infinity) or one capped at L::max_value.
template <class L>
constexpr float folded_relu_ceiling() {
    if constexpr (ReLUActivationLayer<L>)
        return std::numeric_limits<float>::infinity();
    else if constexpr (CappedReLULayer<L>)
        return L::max_value;
    else
        return 0.0f;
}
}  // namespace detail

// Whether bound layer A followed by bound layer B folds (A says folds_batch_norm only
// on the CPU, with a linear activation).
template <class A, class B>
inline constexpr bool folds_batch_norm_v = detail::FoldsBatchNormIn<A> && detail::BatchNormInference<B>;

}  // namespace typenet
