// tests/support/count_allocations.hpp
// Replaces the global operator new/delete to count allocations while a flag is up, so
// a test can prove a training step allocates nothing. Include it in exactly one
// translation unit of a test program (the replacements are definitions).
//
// EVERY form is replaced (plain, array, nothrow, aligned, sized), each pair on
// malloc/posix_memalign and free. Replacing only some would let memory from a form
// left to the runtime reach a replaced delete (or the reverse): AddressSanitizer
// reports that as an alloc-dealloc mismatch, and it is undefined behaviour anyway.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace typenet_test {
inline std::atomic<bool> counting{false};           // count while true
inline std::atomic<std::size_t> allocations{0};     // operator new calls while counting

inline void* counted_allocation(std::size_t size, std::size_t alignment) noexcept {
    if (counting) ++allocations;
    if (size == 0) size = 1;
    if (alignment <= alignof(std::max_align_t)) return std::malloc(size);
    void* p = nullptr;
    return ::posix_memalign(&p, alignment, size) == 0 ? p : nullptr;
}
inline void* counted_or_throw(std::size_t size, std::size_t alignment) {
    if (void* p = counted_allocation(size, alignment)) return p;
    throw std::bad_alloc();
}
}  // namespace typenet_test

// The replacements pair malloc with free; GCC cannot see that and warns.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
// clang-format off
void* operator new(std::size_t n) { return typenet_test::counted_or_throw(n, 0); }
void* operator new[](std::size_t n) { return typenet_test::counted_or_throw(n, 0); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return typenet_test::counted_allocation(n, 0); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return typenet_test::counted_allocation(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) { return typenet_test::counted_or_throw(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return typenet_test::counted_or_throw(n, static_cast<std::size_t>(a)); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    return typenet_test::counted_allocation(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    return typenet_test::counted_allocation(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
// clang-format on
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
