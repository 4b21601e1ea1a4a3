// typenet/backend/cuda/buffer.cuh
// Buffer<cuda, T>: device memory with the face of Buffer<cpu, T> (core/buffer.hpp).
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

template <class T>
class Buffer<cuda, T> {
public:
    static constexpr std::size_t alignment = 256;  // what cudaMalloc guarantees

    Buffer() = default;
    explicit Buffer(std::size_t count) { ensure(count); }
    Buffer(const Buffer& other) { copy_from(other); }
    Buffer& operator=(const Buffer& other) {
        if (this != &other) copy_from(other);
        return *this;
    }
    Buffer(Buffer&& other) noexcept { swap(other); }
    Buffer& operator=(Buffer&& other) noexcept {
        swap(other);
        return *this;
    }
    ~Buffer() { release(); }

    // Make room for at least `count` elements and set the size to `count`.
    // Growing drops the old contents (buffers hold per-step data); shrinking keeps them.
    void ensure(std::size_t count) {
        if (count > capacity_) {
            release();
            CudaContext& context = cuda_context();
            void* memory = nullptr;
            cuda_kernels::check_cuda(
                cudaMallocAsync(&memory, count * sizeof(T), context.stream()),
                "device allocation of " + std::to_string(count * sizeof(T)) + " bytes (cudaMallocAsync)");
            data_ = static_cast<T*>(memory);
            capacity_ = count;
            detail::growth_counter().fetch_add(1);
        }
        size_ = count;
    }
    // ensure(count), then every element zero.
    void ensure_zeroed(std::size_t count) {
        ensure(count);
        zero();
    }
    void zero() {
        if (size_ != 0)
            cuda_kernels::check_cuda(cudaMemsetAsync(data_, 0, size_ * sizeof(T), cuda_context().stream()),
                                     "Buffer::zero (cudaMemsetAsync)");
    }

    // From host memory; returns once queued (the host memory may be reused at once).
    void upload(const T* host, std::size_t count) {
        ensure(count);
        cuda_context().upload(data_, host, count * sizeof(T));
    }
    // To host memory, after all queued work; returns when the values are there.
    void download(T* host, std::size_t count) const {
        if (count != 0) cuda_context().download(host, data_, count * sizeof(T));
    }

    [[nodiscard]] T* data() { return data_; }
    [[nodiscard]] const T* data() const { return data_; }
    [[nodiscard]] std::size_t size() const { return size_; }
    [[nodiscard]] std::size_t capacity() const { return capacity_; }
    [[nodiscard]] std::size_t bytes() const { return capacity_ * sizeof(T); }

private:
    void copy_from(const Buffer& other) {
        ensure(other.size_);
        if (other.size_ != 0)
            cuda_kernels::check_cuda(cudaMemcpyAsync(data_, other.data_, other.size_ * sizeof(T),
                                                     cudaMemcpyDeviceToDevice, cuda_context().stream()),
                                     "Buffer copy (cudaMemcpyAsync device to device)");
    }
    void swap(Buffer& other) noexcept {
        std::swap(data_, other.data_);
        std::swap(size_, other.size_);
        std::swap(capacity_, other.capacity_);
    }
    void release() noexcept {
        // Errors are dropped: a destructor cannot throw, and at process exit the runtime
        // may already be unloading (the memory goes with the process then).
        if (data_ != nullptr) (void)cudaFreeAsync(data_, cuda_context().stream());
        data_ = nullptr;
        size_ = capacity_ = 0;
    }

    T* data_ = nullptr;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
};

}  // namespace typenet
