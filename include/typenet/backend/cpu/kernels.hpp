// typenet/backend/cpu/kernels.hpp
// Kernels<cpu>: the CPU side of the contract in backend/kernels.hpp.
#pragma once

#include "typenet/backend/cpu/average_pooling.hpp"
#include "typenet/backend/cpu/batch_norm.hpp"
#include "typenet/backend/cpu/blas.hpp"
#include "typenet/backend/cpu/conv2d.hpp"
#include "typenet/backend/cpu/depthwise_conv2d.hpp"
#include "typenet/backend/cpu/elementwise.hpp"
#include "typenet/backend/cpu/loss.hpp"
#include "typenet/backend/cpu/merge.hpp"
#include "typenet/backend/cpu/optimizer.hpp"
#include "typenet/backend/cpu/parallel.hpp"
#include "typenet/backend/cpu/pooling.hpp"
#include "typenet/backend/cpu/relu.hpp"
#include "typenet/backend/cpu/zero_padding.hpp"
#include "typenet/backend/kernels.hpp"
#include "typenet/core/buffer.hpp"

namespace typenet {

template <>
struct Kernels<cpu> {
    template <class T = float>
    using buffer = Buffer<cpu, T>;

    static constexpr auto gemm = cpu_kernels::gemm;
    static constexpr auto bias_activation = cpu_kernels::bias_activation;
    static constexpr auto activation_backward = cpu_kernels::activation_backward;
    static constexpr auto column_sums = cpu_kernels::column_sums;
    static constexpr auto conv2d_forward = cpu_kernels::conv2d_forward;
    static constexpr auto conv2d_backward = cpu_kernels::conv2d_backward;
    static constexpr auto maxpool_forward = cpu_kernels::maxpool_forward;
    static constexpr auto maxpool_backward = cpu_kernels::maxpool_backward;
    static constexpr auto dropout_forward = cpu_kernels::dropout_forward;
    static constexpr auto dropout_backward = cpu_kernels::dropout_backward;
    static constexpr auto copy = cpu_kernels::copy;
    static constexpr auto fill = cpu_kernels::fill;
    // The layers of today's backbones.
    static constexpr auto batchnorm_forward_training = cpu_kernels::batchnorm_forward_training;
    static constexpr auto batchnorm_forward_inference = cpu_kernels::batchnorm_forward_inference;
    static constexpr auto batchnorm_backward = cpu_kernels::batchnorm_backward;
    static constexpr auto depthwise_conv2d_forward = cpu_kernels::depthwise_conv2d_forward;
    static constexpr auto depthwise_conv2d_backward = cpu_kernels::depthwise_conv2d_backward;
    static constexpr auto avgpool_forward = cpu_kernels::avgpool_forward;
    static constexpr auto avgpool_backward = cpu_kernels::avgpool_backward;
    static constexpr auto zero_pad_forward = cpu_kernels::zero_pad_forward;
    static constexpr auto zero_pad_backward = cpu_kernels::zero_pad_backward;
    static constexpr auto relu_forward = cpu_kernels::relu_forward;
    static constexpr auto relu_backward = cpu_kernels::relu_backward;
    static constexpr auto accumulate = cpu_kernels::accumulate;
    static constexpr auto copy_channels = cpu_kernels::copy_channels;
    // Training (train/): loss and optimizer steps.
    static constexpr auto loss_value_and_gradient = cpu_kernels::loss_value_and_gradient;
    static constexpr auto sgd_update = cpu_kernels::sgd_update;
    static constexpr auto rmsprop_update = cpu_kernels::rmsprop_update;
    static constexpr auto adam_update = cpu_kernels::adam_update;
};

}  // namespace typenet
