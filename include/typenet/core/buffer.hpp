// typenet/core/buffer.hpp
// Memory owned by a model on its device. Buffers only grow: a workspace sized for
// the largest batch seen is reused, so a training step allocates nothing after the
// first batch. buffer_growth_count() lets tests prove it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "typenet/core/device.hpp"

namespace typenet {

namespace detail {
inline std::atomic<std::size_t>& growth_counter() {
    static std::atomic<std::size_t> counter{0};
    return counter;
}
}  // namespace detail

// Number of times any Buffer, on any device, has (re)allocated its storage.
inline std::size_t buffer_growth_count() { return detail::growth_counter().load(); }

// How a device allocates, clears and copies raw memory: each device specialises it (cpu
// below, cuda in backend/cuda/buffer.cuh), and Buffer is written once on top of it.
//   alignment                            bytes the storage is aligned to
//   allocate(bytes) -> void*             throws when there is no memory
//   release(p) noexcept                  p not null
//   zero(p, bytes), copy(dst, src, bytes)           on the device, bytes > 0
//   upload(dst, host, bytes), download(host, src, bytes)   host <-> device
template <class Device>
struct DeviceMemory;

template <>
struct DeviceMemory<cpu> {
    static constexpr std::size_t alignment = 64;  // one cache line, a full AVX-512 register

    static void* allocate(std::size_t bytes) {
        void* memory = std::aligned_alloc(alignment, (bytes + alignment - 1) / alignment * alignment);
        if (memory == nullptr) throw std::bad_alloc();
        return memory;
    }
    static void release(void* memory) noexcept { std::free(memory); }
    static void zero(void* memory, std::size_t bytes) { std::memset(memory, 0, bytes); }
    static void copy(void* dst, const void* src, std::size_t bytes) { std::memcpy(dst, src, bytes); }
    static void upload(void* dst, const void* host, std::size_t bytes) {
        if (bytes != 0) std::memcpy(dst, host, bytes);
    }
    static void download(void* host, const void* src, std::size_t bytes) { std::memcpy(host, src, bytes); }
};

template <class Device, class T = float>
class Buffer {
    using memory = DeviceMemory<Device>;

public:
    static constexpr std::size_t alignment = memory::alignment;

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
            data_ = static_cast<T*>(memory::allocate(count * sizeof(T)));
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
        if (size_ != 0) memory::zero(static_cast<void*>(data_), size_ * sizeof(T));
    }

    // From host memory (on a GPU: returns once queued; the host memory may be reused at once).
    void upload(const T* host, std::size_t count) {
        ensure(count);
        memory::upload(static_cast<void*>(data_), host, count * sizeof(T));
    }
    // To host memory (on a GPU: after all queued work; returns when the values are there).
    void download(T* host, std::size_t count) const {
        if (count != 0) memory::download(static_cast<void*>(host), data_, count * sizeof(T));
    }

    [[nodiscard]] T* data() { return data_; }
    [[nodiscard]] const T* data() const { return data_; }
    [[nodiscard]] std::size_t size() const { return size_; }
    [[nodiscard]] std::size_t capacity() const { return capacity_; }
    [[nodiscard]] std::size_t bytes() const { return capacity_ * sizeof(T); }

private:
    void copy_from(const Buffer& other) {
        ensure(other.size_);
        if (other.size_ != 0) memory::copy(static_cast<void*>(data_), other.data_, other.size_ * sizeof(T));
    }
    void swap(Buffer& other) noexcept {
        std::swap(data_, other.data_);
        std::swap(size_, other.size_);
        std::swap(capacity_, other.capacity_);
    }
    void release() noexcept {
        if (data_ != nullptr) memory::release(data_);
        data_ = nullptr;
        size_ = capacity_ = 0;
    }

    T* data_ = nullptr;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
};

}  // namespace typenet
