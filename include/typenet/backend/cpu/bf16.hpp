// typenet/backend/cpu/bf16.hpp
// bf16 inference (core/precision.hpp): Conv2D and Dense forward passes as one matrix
// product of bfloat16 inputs and weights, summed in float32 by the AVX512_BF16 dot
// product vdpbf16ps (each float lane adds a[2i] b[2i] + a[2i+1] b[2i+1]: twice the
// products of an FMA per instruction).
//
//   weights  the kernel (taps x filters, Keras layout) rounded to bf16 once per call and
//            packed in panels of 32 filters: pair p of panel j holds, for each of its 32
//            filters, taps 2p and 2p+1 side by side (zeros past the last tap or filter).
//            Converted on every call, like the BatchNormalization fold: never stale.
//   inputs   patch rows (im2col, a block of rows per task; a 1x1 convolution's rows are
//            its pixels, a Dense layer's its samples), rounded to bf16 while gathered,
//            padded to an even length with a zero.
//   product  a register tile of 12 rows x 32 filters (24 AVX-512 accumulators) runs
//            over the whole patch for each panel; the block of rows (at most ~256 KB of
//            bf16) and the panel stay in L2. Bias and ReLU are added before the store.
//
// Rounding is to nearest even (vcvtneps2bf16). Every convolution shape goes through the
// same product (Winograd's transforms would multiply bf16's rounding error), so a 3x3
// layer does 2.25x the multiplies of FP32's F(2x2) Winograd at about twice the rate.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "typenet/backend/cpu/conv2d.hpp"
#include "typenet/backend/cpu/elementwise.hpp"
#include "typenet/backend/cpu/parallel.hpp"
#include "typenet/backend/cpu/relu_clamp.hpp"
#include "typenet/backend/cpu/scratch.hpp"
#include "typenet/backend/kernels.hpp"
#include "typenet/core/precision.hpp"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__CUDACC__)
#define TYPENET_BF16_KERNELS 1
#include <immintrin.h>
#define TYPENET_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#else
#define TYPENET_BF16_KERNELS 0
#endif

namespace typenet::cpu_kernels::bf16 {

using bits = std::uint16_t;

// float -> bf16, rounded to nearest even (what vcvtneps2bf16 does); NaN stays NaN.
inline bits round(float f) {
    std::uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<bits>((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return static_cast<bits>(u >> 16);
}

inline float to_float(bits b) {
    const std::uint32_t u = static_cast<std::uint32_t>(b) << 16;
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

// How many layer products ran in bf16 since the start (tests check that bf16 really ran).
inline std::atomic<std::size_t>& products_run() {
    static std::atomic<std::size_t> count{0};
    return count;
}

inline constexpr std::size_t tile_rows = 12, panel_width = 32;

// A patch of `taps` values takes an even number of bf16 slots (the dot product reads pairs).
inline constexpr std::size_t padded_taps(std::size_t taps) { return (taps + 1) / 2 * 2; }
inline constexpr std::size_t panels(std::size_t filters) { return (filters + panel_width - 1) / panel_width; }
// bf16 values of the packed weights.
inline constexpr std::size_t packed_size(std::size_t taps, std::size_t filters) {
    return panels(filters) * padded_taps(taps) * panel_width;
}

// The packed layout described above, from a taps x filters float kernel.
inline void pack_weights(const float* kernel, std::size_t taps, std::size_t filters, bits* packed) {
    const std::size_t pairs = padded_taps(taps) / 2, panel_size = pairs * 2 * panel_width;
    parallel_tasks(panels(filters), [&](std::size_t j, unsigned) {
        bits* out = packed + j * panel_size;
        for (std::size_t p = 0; p < pairs; ++p)
            for (std::size_t n = 0; n < panel_width; ++n)
                for (std::size_t e = 0; e < 2; ++e) {
                    const std::size_t t = 2 * p + e, f = j * panel_width + n;
                    out[(p * panel_width + n) * 2 + e] = t < taps && f < filters ? round(kernel[t * filters + f]) : 0;
                }
    });
}

#if TYPENET_BF16_KERNELS

// n floats to bf16.
TYPENET_BF16_TARGET inline void convert(const float* src, bits* dst, std::size_t n) {
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256bh h = _mm512_cvtneps_pbh(_mm512_loadu_ps(src + i));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), (__m256i)h);
    }
    if (i < n) {
        const __mmask16 mask = static_cast<__mmask16>((1u << (n - i)) - 1u);
        const __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, src + i));
        _mm256_mask_storeu_epi16(dst + i, mask, (__m256i)h);
    }
}

// Rows [first, first + count) of the batch's patch matrix in bf16 (conv2d.hpp's im2col
// rows, rounded while gathered), each `stride` values long (the patch, then zeros).
TYPENET_BF16_TARGET inline void gather_patches(const ConvGeometry& g, const float* x, std::size_t first,
                                               std::size_t count, std::size_t stride, bits* rows) {
    im2col_rows_as(g, x, first, count, stride, rows,
                   [](const float* src, bits* dst, std::size_t n) { convert(src, dst, n); });
    const std::size_t taps = g.patch_size();
    for (std::size_t r = 0; r < count; ++r) std::memset(rows + r * stride + taps, 0, (stride - taps) * sizeof(bits));
}

TYPENET_BF16_TARGET inline __mmask16 first_lanes(std::size_t n) {
    return n >= 16 ? static_cast<__mmask16>(0xffffu) : static_cast<__mmask16>((1u << n) - 1u);
}

// out[r, c] = relu?(bias[c] + sum over pairs of a[r] . panel[c]) for r < rows, c < cols,
// the ReLU capped where relu.capped() (a folded ReLU(max_value), relu_clamp.hpp)
// (at most 12 x 32); a holds 12 rows of 2 * pairs bf16 values, `lda` apart.
TYPENET_BF16_TARGET inline void tile(const bits* a, std::size_t lda, const bits* panel, std::size_t pairs,
                                     const float* bias32, ReLUClamp relu, float* out, std::size_t ldo, std::size_t rows,
                                     std::size_t cols) {
    __m512 acc[tile_rows][2];
    const __m512 bias0 = _mm512_loadu_ps(bias32), bias1 = _mm512_loadu_ps(bias32 + 16);
TYPENET_UNROLL(12)
    for (std::size_t r = 0; r < tile_rows; ++r) {
        acc[r][0] = bias0;
        acc[r][1] = bias1;
    }
    for (std::size_t p = 0; p < pairs; ++p) {
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512(panel + p * 2 * panel_width);
        const __m512bh b1 = (__m512bh)_mm512_loadu_si512(panel + p * 2 * panel_width + panel_width);
TYPENET_UNROLL(12)
        for (std::size_t r = 0; r < tile_rows; ++r) {
            std::int32_t pair;
            std::memcpy(&pair, a + r * lda + 2 * p, sizeof pair);
            const __m512bh x = (__m512bh)_mm512_set1_epi32(pair);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], x, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], x, b1);
        }
    }
    const __mmask16 m0 = first_lanes(cols), m1 = cols > 16 ? first_lanes(cols - 16) : static_cast<__mmask16>(0);
TYPENET_UNROLL(12)
    for (std::size_t r = 0; r < tile_rows; ++r) {
        if (r >= rows) break;
        simd::vfloat v0 = acc[r][0], v1 = acc[r][1];  // __m512 and vfloat: both 16 floats
        apply_relu_clamp(relu, v0);  // the rule every FP32 convolution stores with (NaN passes)
        apply_relu_clamp(relu, v1);
        if (cols == panel_width) {
            _mm512_storeu_ps(out + r * ldo, v0);
            _mm512_storeu_ps(out + r * ldo + 16, v1);
        } else {
            _mm512_mask_storeu_ps(out + r * ldo, m0, v0);
            _mm512_mask_storeu_ps(out + r * ldo + 16, m1, v1);
        }
    }
}

// Panels [first_panel, last_panel) of a block of `count` gathered rows (a multiple of 12
// of them in memory, the extra ones zero).
TYPENET_BF16_TARGET inline void block_product(const bits* a, std::size_t stride, std::size_t count, const bits* packed,
                                              std::size_t first_panel, std::size_t last_panel, std::size_t filters,
                                              const float* bias, ReLUClamp relu, float* y) {
    const std::size_t pairs = stride / 2, panel_size = stride * panel_width;
    for (std::size_t j = first_panel; j < last_panel; ++j) {
        const std::size_t c0 = j * panel_width, cols = std::min(panel_width, filters - c0);
        alignas(64) float bias32[panel_width] = {};
        if (bias != nullptr) std::memcpy(bias32, bias + c0, cols * sizeof(float));
        for (std::size_t r = 0; r < count; r += tile_rows)
            tile(a + r * stride, stride, packed + j * panel_size, pairs, bias32, relu, y + r * filters + c0, filters,
                 std::min(tile_rows, count - r), cols);
    }
}

#endif  // TYPENET_BF16_KERNELS

// y (rows x filters) = act(patches (rows x taps) * kernel + bias) in bf16 products, the
// patch rows made by gather(first, count, stride, rows_out).
template <class Gather>
void product(std::size_t rows, std::size_t taps, std::size_t filters, const float* kernel, const float* bias,
             ActivationKind act, float relu_ceiling, float* y, Gather&& gather) {
#if TYPENET_BF16_KERNELS
    if (!bf16_supported())
        throw std::runtime_error("typenet: a bf16 product was asked for on a CPU without AVX512_BF16");
    if (rows == 0) return;
    const std::size_t stride = padded_taps(taps), n_panels = panels(filters);
    const std::size_t threads = static_cast<std::size_t>(cpu_threads());
    // Rows per block: a multiple of 12, about 256 KB of bf16, at least one block per thread.
    const std::size_t by_size = std::clamp<std::size_t>((std::size_t{128} << 10) / stride, tile_rows, 240);
    const std::size_t per_thread = (rows + threads - 1) / threads;
    const std::size_t block =
        std::max(tile_rows, std::min(by_size, per_thread + tile_rows - 1) / tile_rows * tile_rows);
    const std::size_t blocks = (rows + block - 1) / block;
    // Few rows (a Dense layer's batch): the panels are split between threads too.
    const std::size_t groups = blocks >= threads ? 1 : std::min(n_panels, (threads + blocks - 1) / blocks);
    CpuScratch& scratch = CpuScratch::instance();
    auto lock = scratch.lock();
    bits* packed = reinterpret_cast<bits*>(scratch.shared(0, (packed_size(taps, filters) + 1) / 2));
    pack_weights(kernel, taps, filters, packed);
    const std::size_t floats = (block * stride + 1) / 2;
    float* base = scratch.per_thread(floats);
    const std::size_t thread_stride = CpuScratch::per_thread_stride(floats);
    const ReLUClamp relu{act == ActivationKind::relu, relu_ceiling};
    parallel_tasks(blocks * groups, [&](std::size_t task, unsigned slot) {
        const std::size_t b = task / groups, group = task % groups;
        const std::size_t first = b * block, count = std::min(block, rows - first);
        bits* a = reinterpret_cast<bits*>(base + slot * thread_stride);
        gather(first, count, stride, a);
        const std::size_t padded = (count + tile_rows - 1) / tile_rows * tile_rows;
        std::memset(a + count * stride, 0, (padded - count) * stride * sizeof(bits));
        block_product(a, stride, count, packed, group * n_panels / groups, (group + 1) * n_panels / groups, filters,
                      bias, relu, y + first * filters);
    });
    lock.unlock();
    products_run().fetch_add(1, std::memory_order_relaxed);
    // ReLU went in above with the bias; sigmoid and softmax are one more pass.
    if (act != ActivationKind::linear && act != ActivationKind::relu) bias_activation(y, nullptr, rows, filters, act);
#else
    (void)rows, (void)taps, (void)filters, (void)kernel, (void)bias, (void)act, (void)relu_ceiling, (void)y, (void)gather;
    throw std::runtime_error("typenet: bf16 inference is not compiled into this build (it needs x86-64 and GCC or "
                             "clang, outside nvcc)");
#endif
}

// conv2d_forward in bf16 products (kernel in Keras layout, taps x filters); with act relu,
// relu_ceiling caps it in the same store (a folded ReLU(max_value)).
inline void conv2d_forward(const ConvGeometry& g, const float* x, std::size_t batch, const float* kernel,
                           const float* bias, float* y, ActivationKind act,
                           float relu_ceiling = std::numeric_limits<float>::infinity()) {
    product(batch * g.out_pixels(), g.patch_size(), g.filters, kernel, bias, act, relu_ceiling, y,
            [&](std::size_t first, std::size_t count, std::size_t stride, bits* rows) {
#if TYPENET_BF16_KERNELS
                gather_patches(g, x, first, count, stride, rows);
#else
                (void)first, (void)count, (void)stride, (void)rows;
#endif
            });
}

// A Dense layer's y = act(x * kernel + bias) in bf16 products (kernel in_features x units).
inline void dense_forward(const float* x, std::size_t batch, std::size_t in_features, std::size_t units,
                          const float* kernel, const float* bias, float* y, ActivationKind act) {
    product(batch, in_features, units, kernel, bias, act, std::numeric_limits<float>::infinity(), y,
            [&](std::size_t first, std::size_t count, std::size_t stride, bits* rows) {
#if TYPENET_BF16_KERNELS
                for (std::size_t r = 0; r < count; ++r) {
                    convert(x + (first + r) * in_features, rows + r * stride, in_features);
                    if (stride > in_features) rows[r * stride + in_features] = 0;
                }
#else
                (void)first, (void)count, (void)stride, (void)rows;
#endif
            });
}

}  // namespace typenet::cpu_kernels::bf16
