// typenet/backend/cuda/launch.cuh
// What every typenet kernel launch shares: grid sizes for grid-stride loops, and
// division by a runtime constant as a multiply and a shift (index math in im2col,
// col2im and pooling would otherwise spend most of its time in integer division).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <cuda_runtime.h>

#include "typenet/backend/cuda/check.cuh"
#include "typenet/backend/cuda/context.cuh"

namespace typenet::cuda_kernels {

inline constexpr unsigned threads_per_block = 256;

// Blocks for a grid-stride loop over `count` items: enough to fill the device a few
// times over, never more than there are items.
inline unsigned blocks_for(std::size_t count, unsigned threads = threads_per_block) {
    const std::size_t needed = (count + threads - 1) / threads;
    const std::size_t plenty = static_cast<std::size_t>(cuda_context().multiprocessors()) * 32;
    return static_cast<unsigned>(std::clamp<std::size_t>(std::min(needed, plenty), 1, 1u << 30));
}

// Launches a grid-stride kernel over `count` items on the context's stream, and checks
// the launch; nothing to do when count is 0.
template <class... Params, class... Args>
void launch_over(std::size_t count, std::string_view name, void (*kernel)(Params...), Args&&... args) {
    if (count == 0) return;
    kernel<<<blocks_for(count), threads_per_block, 0, cuda_context().stream()>>>(std::forward<Args>(args)...);
    check_launch(name);
}

// Element i of a batch of NHWC images of (height, width, channels): image n, row y,
// column x, channel c.
struct NhwcIndex {
    std::size_t n, y, x, c;
};
__device__ __forceinline__ NhwcIndex nhwc_index(std::size_t i, std::size_t height, std::size_t width,
                                                std::size_t channels) {
    const std::size_t pixel = i / channels;
    return {pixel / (width * height), (pixel / width) % height, pixel % width, i % channels};
}

// 32-bit index math is several times cheaper on the GPU; kernels take it whenever the
// item count allows (grid-stride steps then cannot wrap either).
inline bool fits_32_bits(std::size_t count) { return count < (std::size_t{1} << 31); }

// Throws unless `count` items can be indexed with 32 bits (the im2col family's rule).
inline void require_32_bits(std::size_t count, std::string_view what) {
    if (!fits_32_bits(count))
        throw std::length_error("typenet cuda: " + std::string(what) + " has " + std::to_string(count) +
                                " elements per launch, more than 2^31: use a smaller batch");
}

// A grid-stride loop in 64 bits: for (std::size_t i = first_index(); i < n; i += grid_stride()).
__device__ __forceinline__ std::size_t first_index() {
    return blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
}
__device__ __forceinline__ std::size_t grid_stride() { return static_cast<std::size_t>(gridDim.x) * blockDim.x; }

// n / d and n % d for a fixed d >= 1 and any n < 2^31 (Granlund and Montgomery 1994:
// q = (umulhi(n, m) + n) >> s with s = ceil(log2 d), m = floor(2^32 (2^s - d) / d) + 1).
struct FastDivmod {
    std::uint32_t divisor = 1;
    std::uint32_t multiplier = 0;
    std::uint32_t shift = 0;

    FastDivmod() = default;
    explicit FastDivmod(std::size_t d) : divisor(static_cast<std::uint32_t>(d)) {
        if (d == 0 || d >= (std::size_t{1} << 31)) throw std::invalid_argument("FastDivmod: divisor out of range");
        while ((std::uint64_t{1} << shift) < d) ++shift;
        multiplier = static_cast<std::uint32_t>(((std::uint64_t{1} << 32) * ((std::uint64_t{1} << shift) - d)) / d + 1);
    }

    __device__ __forceinline__ std::uint32_t div(std::uint32_t n) const {
        return (__umulhi(n, multiplier) + n) >> shift;
    }
    // Returns n / d and leaves n % d in `remainder`.
    __device__ __forceinline__ std::uint32_t divmod(std::uint32_t n, std::uint32_t& remainder) const {
        const std::uint32_t q = div(n);
        remainder = n - q * divisor;
        return q;
    }
};

}  // namespace typenet::cuda_kernels
