// typenet/backend/cpu/kernels.hpp
// Kernels<cpu>: the CPU side of the contract in backend/kernels.hpp.
#pragma once

#include "typenet/backend/cpu/average_pooling.hpp"
#include "typenet/backend/cpu/batch_norm.hpp"
#include "typenet/backend/cpu/bf16.hpp"
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
#define TYPENET_CPU_KERNEL(name) static constexpr auto name = cpu_kernels::name;
    TYPENET_KERNEL_NAMES(TYPENET_CPU_KERNEL, TYPENET_CPU_KERNEL)
#undef TYPENET_CPU_KERNEL
    // bf16 inference (core/precision.hpp), CPU only: layers call these under
    // if constexpr (bf16_inference<Device>), so other devices need not have them.
    static constexpr auto conv2d_forward_bf16 = cpu_kernels::bf16::conv2d_forward;
    static constexpr auto dense_forward_bf16 = cpu_kernels::bf16::dense_forward;
    // A ReLU(max_value) folded into the convolution before it (layers/fold_batch_norm.hpp).
    static constexpr auto conv2d_forward_capped = cpu_kernels::conv2d_forward_capped;
    static constexpr auto depthwise_conv2d_forward_capped = cpu_kernels::depthwise_conv2d_forward_capped;
};

}  // namespace typenet
