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
#define TYPENET_CUDA_KERNEL(name) static constexpr auto name = cuda_kernels::name;
    TYPENET_KERNEL_NAMES(TYPENET_CUDA_KERNEL, TYPENET_CUDA_KERNEL)
#undef TYPENET_CUDA_KERNEL
};

}  // namespace typenet
