// typenet/backend/cuda/buffer.cuh
// DeviceMemory<cuda>: how Buffer<cuda, T> (core/buffer.hpp, written once for every device)
// holds device memory, with the face of Buffer<cpu, T>.
// Grow-only, counted in buffer_growth_count(), so a training step on the GPU allocates
// nothing after the first batch either. Allocation and free are stream-ordered
// (cudaMallocAsync), so growing never stalls the device; upload/download copy to and
// from host memory through the CudaContext; copying a Buffer copies device to device.
#pragma once

#include <cstddef>
#include <string>
#include <utility>

#include <cuda_runtime.h>

#include "typenet/backend/cuda/check.cuh"
#include "typenet/backend/cuda/context.cuh"
#include "typenet/core/buffer.hpp"
#include "typenet/core/device.hpp"

namespace typenet {

template <>
struct DeviceMemory<cuda> {
    static constexpr std::size_t alignment = 256;  // what cudaMalloc guarantees

    static void* allocate(std::size_t bytes) {
        void* memory = nullptr;
        cuda_kernels::check_cuda(cudaMallocAsync(&memory, bytes, cuda_context().stream()),
                                 "device allocation of " + std::to_string(bytes) + " bytes (cudaMallocAsync)");
        return memory;
    }
    // Errors are dropped: a destructor cannot throw, and at process exit the runtime
    // may already be unloading (the memory goes with the process then).
    static void release(void* memory) noexcept { (void)cudaFreeAsync(memory, cuda_context().stream()); }
    static void zero(void* memory, std::size_t bytes) {
        cuda_kernels::check_cuda(cudaMemsetAsync(memory, 0, bytes, cuda_context().stream()),
                                 "Buffer::zero (cudaMemsetAsync)");
    }
    static void copy(void* dst, const void* src, std::size_t bytes) {
        cuda_kernels::check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, cuda_context().stream()),
                                 "Buffer copy (cudaMemcpyAsync device to device)");
    }
    // Returns once queued (staged through pinned memory: the host memory may be reused at once).
    static void upload(void* dst, const void* host, std::size_t bytes) { cuda_context().upload(dst, host, bytes); }
    // After all queued work; returns when the values are there.
    static void download(void* host, const void* src, std::size_t bytes) {
        cuda_context().download(host, src, bytes);
    }
};

}  // namespace typenet
