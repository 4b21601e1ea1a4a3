// tests/support/count_allocations.hpp
// Replaces the global operator new/delete to count allocations while a flag is up, so
// a test can prove a training step allocates nothing. Include it in exactly one
// translation unit of a test program (the replacements are definitions).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace typenet_test {
inline std::atomic<bool> counting{false};           // count while true
inline std::atomic<std::size_t> allocations{0};     // operator new calls while counting
}  // namespace typenet_test

// The replacements pair malloc with free; GCC cannot see that and warns.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
inline void* counted_allocation(std::size_t size) {
    if (typenet_test::counting) ++typenet_test::allocations;
    if (void* p = std::malloc(size ? size : 1)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t size) { return counted_allocation(size); }
void* operator new[](std::size_t size) { return counted_allocation(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop
