// typenet/backend/cuda/kernels.cuh
// Kernels<cuda>: the GPU side of the contract in backend/kernels.hpp, member for
// member the same signatures as Kernels<cpu> (backend/cpu/kernels.hpp). Compiled only
// by nvcc; all pointers are device pointers, and everything runs on the one stream of
// the CudaContext, so calls return before the work is done.
#pragma once

#include "typenet/backend/cuda/average_pooling.cuh"
#include "typenet/backend/cuda/batch_norm.cuh"
#include "typenet/backend/cuda/blas.cuh"
#include "typenet/backend/cuda/buffer.cuh"
#include "typenet/backend/cuda/context.cuh"
#include "typenet/backend/cuda/conv2d.cuh"
#include "typenet/backend/cuda/depthwise_conv2d.cuh"
#include "typenet/backend/cuda/elementwise.cuh"
#include "typenet/backend/cuda/loss.cuh"
#include "typenet/backend/cuda/merge.cuh"
#include "typenet/backend/cuda/optimizer.cuh"
#include "typenet/backend/cuda/pooling.cuh"
#include "typenet/backend/cuda/relu.cuh"
#include "typenet/backend/cuda/zero_padding.cuh"
#include "typenet/backend/kernels.hpp"
#include "typenet/core/buffer.hpp"
#include "typenet/core/device.hpp"

namespace typenet {

template <>
struct Kernels<cuda> {
    template <class T = float>
    using buffer = Buffer<cuda, T>;

    static constexpr auto gemm = cuda_kernels::gemm;
    static constexpr auto bias_activation = cuda_kernels::bias_activation;
    static constexpr auto activation_backward = cuda_kernels::activation_backward;
    static constexpr auto column_sums = cuda_kernels::column_sums;
    static constexpr auto conv2d_forward = cuda_kernels::conv2d_forward;
    static constexpr auto conv2d_backward = cuda_kernels::conv2d_backward;
    static constexpr auto maxpool_forward = cuda_kernels::maxpool_forward;
    static constexpr auto maxpool_backward = cuda_kernels::maxpool_backward;
    static constexpr auto dropout_forward = cuda_kernels::dropout_forward;
    static constexpr auto dropout_backward = cuda_kernels::dropout_backward;
    static constexpr auto copy = cuda_kernels::copy;
    static constexpr auto fill = cuda_kernels::fill;
    // The layers of today's backbones.
    static constexpr auto batchnorm_forward_training = cuda_kernels::batchnorm_forward_training;
    static constexpr auto batchnorm_forward_inference = cuda_kernels::batchnorm_forward_inference;
    static constexpr auto batchnorm_backward = cuda_kernels::batchnorm_backward;
    static constexpr auto depthwise_conv2d_forward = cuda_kernels::depthwise_conv2d_forward;
    static constexpr auto depthwise_conv2d_backward = cuda_kernels::depthwise_conv2d_backward;
    static constexpr auto avgpool_forward = cuda_kernels::avgpool_forward;
    static constexpr auto avgpool_backward = cuda_kernels::avgpool_backward;
    static constexpr auto zero_pad_forward = cuda_kernels::zero_pad_forward;
    static constexpr auto zero_pad_backward = cuda_kernels::zero_pad_backward;
    static constexpr auto relu_forward = cuda_kernels::relu_forward;
    static constexpr auto relu_backward = cuda_kernels::relu_backward;
    static constexpr auto accumulate = cuda_kernels::accumulate;
    static constexpr auto copy_channels = cuda_kernels::copy_channels;
    // Training (train/): loss and optimizer steps.
    static constexpr auto loss_value_and_gradient = cuda_kernels::loss_value_and_gradient;
    static constexpr auto sgd_update = cuda_kernels::sgd_update;
    static constexpr auto rmsprop_update = cuda_kernels::rmsprop_update;
    static constexpr auto adam_update = cuda_kernels::adam_update;
};

}  // namespace typenet
