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

// Primary template: each device specialises it (cpu below, cuda in backend/cuda).
template <class Device, class T = float>
class Buffer;

template <class T>
class Buffer<cpu, T> {
public:
    static constexpr std::size_t alignment = 64;  // one cache line, a full AVX-512 register

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
            std::size_t bytes = (count * sizeof(T) + alignment - 1) / alignment * alignment;
            data_ = static_cast<T*>(std::aligned_alloc(alignment, bytes));
            if (data_ == nullptr) throw std::bad_alloc();
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
        if (size_ != 0) std::memset(static_cast<void*>(data_), 0, size_ * sizeof(T));
    }

    void upload(const T* host, std::size_t count) {
        ensure(count);
        if (count != 0) std::memcpy(static_cast<void*>(data_), host, count * sizeof(T));
    }
    void download(T* host, std::size_t count) const {
        if (count != 0) std::memcpy(static_cast<void*>(host), data_, count * sizeof(T));
    }

    [[nodiscard]] T* data() { return data_; }
    [[nodiscard]] const T* data() const { return data_; }
    [[nodiscard]] std::size_t size() const { return size_; }
    [[nodiscard]] std::size_t capacity() const { return capacity_; }
    [[nodiscard]] std::size_t bytes() const { return capacity_ * sizeof(T); }

private:
    void copy_from(const Buffer& other) {
        ensure(other.size_);
        other.download(data_, other.size_);
    }
    void swap(Buffer& other) noexcept {
        std::swap(data_, other.data_);
        std::swap(size_, other.size_);
        std::swap(capacity_, other.capacity_);
    }
    void release() {
        std::free(data_);
        data_ = nullptr;
        size_ = capacity_ = 0;
    }

    T* data_ = nullptr;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
};

}  // namespace typenet
