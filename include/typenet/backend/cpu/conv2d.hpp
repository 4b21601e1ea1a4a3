// typenet/backend/cpu/conv2d.hpp
// Convolution on the CPU, by whichever method is fastest for the shape among those as
// accurate as im2col (tn::set_conv_algorithm picks another, conv_algorithm.hpp):
//   winograd  3x3 stride 1 with 8+ channels: F(2x2, 3x3), 2.25x fewer multiplies
//             (winograd.hpp); also the input gradient, as a convolution with the
//             flipped kernel, and the kernel gradient, by F(3x3, 2x2) on the same points.
//             winograd_fast, F(4x4, 3x3) (4x fewer, 2-8x the rounding error), only
//             when asked for
//   direct    few input channels (the first layer, C = 3): an im2col GEMM there is
//             22500 x 16 x 27, too skinny for BLAS, so small kernels hold all output
//             channels (forward) or all taps (kernel gradient) in registers
//   im2col    everything else (strides, other kernel sizes, the first layer's kernel
//             gradient): patch rows gathered a block at a time, one GEMM per block
// Every method splits its work over the pool's threads itself, calls single-threaded
// GEMMs, and adds bias and activation while the block is still in cache.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "typenet/backend/cpu/blas.hpp"
#include "typenet/backend/cpu/elementwise.hpp"
#include "typenet/backend/cpu/parallel.hpp"
#include "typenet/backend/cpu/relu_clamp.hpp"
#include "typenet/backend/cpu/scratch.hpp"
#include "typenet/backend/cpu/simd.hpp"
#include "typenet/backend/cpu/winograd.hpp"
#include "typenet/backend/conv_algorithm.hpp"
#include "typenet/backend/kernels.hpp"
#include "typenet/core/buffer.hpp"

namespace typenet::cpu_kernels {

// How a convolution is computed; `automatic` picks per shape (tests force the others).
using ConvMethod = ConvAlgorithm;

// The method Kernels<cpu>'s convolutions use: tn::set_conv_algorithm's, or the
// TYPENET_CONV_ALGORITHM override.
inline ConvMethod conv_method() { return conv_algorithm(); }

// Patch rows [first, first + count) of the whole batch's im2col matrix (row = image *
// out_pixels + oy * out_w + ox): row (oy, ox) holds the (kh, kw, cin) window, zeros where
// the window hangs over the padding, in the Keras kernel layout (kh, kw, cin, cout). Rows
// are `row_stride` elements of T apart (at least the patch size; what lies past the patch
// is the caller's); copy(src, dst, n) turns n input floats into T (a memcpy for float, a
// rounding for bf16 in backend/cpu/bf16.hpp).
template <class T, class Copy>
void im2col_rows_as(const ConvGeometry& g, const float* x, std::size_t first, std::size_t count, std::size_t row_stride,
                    T* columns, Copy&& copy) {
    const std::size_t span = g.kernel_w * g.in_c;
    const std::size_t pixels = g.out_pixels();
    for (std::size_t r = 0; r < count; ++r) {
        const std::size_t row_index = first + r;
        const std::size_t n = row_index / pixels, p = row_index % pixels;
        const std::size_t oy = p / g.out_w, ox = p % g.out_w;
        const float* image = x + n * g.in_size();
        T* row = columns + r * row_stride;
        const std::ptrdiff_t y0 = static_cast<std::ptrdiff_t>(oy * g.stride_h) - static_cast<std::ptrdiff_t>(g.pad_top);
        const std::ptrdiff_t x0 = static_cast<std::ptrdiff_t>(ox * g.stride_w) - static_cast<std::ptrdiff_t>(g.pad_left);
        const bool inside_x = x0 >= 0 && x0 + static_cast<std::ptrdiff_t>(g.kernel_w) <= static_cast<std::ptrdiff_t>(g.in_w);
        for (std::size_t ky = 0; ky < g.kernel_h; ++ky) {
            T* dst = row + ky * span;
            const std::ptrdiff_t iy = y0 + static_cast<std::ptrdiff_t>(ky);
            if (iy < 0 || iy >= static_cast<std::ptrdiff_t>(g.in_h)) {
                std::memset(dst, 0, span * sizeof(T));
                continue;
            }
            const float* src_row = image + static_cast<std::size_t>(iy) * g.in_w * g.in_c;
            if (inside_x) {  // the whole window row is contiguous in NHWC
                copy(src_row + static_cast<std::size_t>(x0) * g.in_c, dst, span);
                continue;
            }
            for (std::size_t kx = 0; kx < g.kernel_w; ++kx) {
                const std::ptrdiff_t ix = x0 + static_cast<std::ptrdiff_t>(kx);
                T* d = dst + kx * g.in_c;
                if (ix < 0 || ix >= static_cast<std::ptrdiff_t>(g.in_w))
                    std::memset(d, 0, g.in_c * sizeof(T));
                else
                    copy(src_row + static_cast<std::size_t>(ix) * g.in_c, d, g.in_c);
            }
        }
    }
}

// The float im2col rows, packed (row stride = patch size).
inline void im2col_rows(const ConvGeometry& g, const float* x, std::size_t first, std::size_t count, float* columns) {
    im2col_rows_as(g, x, first, count, g.patch_size(), columns,
                   [](const float* src, float* dst, std::size_t n) { std::memcpy(dst, src, n * sizeof(float)); });
}

// The adjoint of im2col_rows: adds patch-row gradients [first, first + count) back
// into the batch's input gradient.
inline void col2im_rows_add(const ConvGeometry& g, const float* columns, std::size_t first, std::size_t count,
                            float* dx) {
    const std::size_t row_len = g.patch_size();
    const std::size_t pixels = g.out_pixels();
    for (std::size_t r = 0; r < count; ++r) {
        const std::size_t row_index = first + r;
        const std::size_t n = row_index / pixels, p = row_index % pixels;
        const std::size_t oy = p / g.out_w, ox = p % g.out_w;
        float* image = dx + n * g.in_size();
        const float* row = columns + r * row_len;
        const std::ptrdiff_t y0 = static_cast<std::ptrdiff_t>(oy * g.stride_h) - static_cast<std::ptrdiff_t>(g.pad_top);
        const std::ptrdiff_t x0 = static_cast<std::ptrdiff_t>(ox * g.stride_w) - static_cast<std::ptrdiff_t>(g.pad_left);
        for (std::size_t ky = 0; ky < g.kernel_h; ++ky) {
            const std::ptrdiff_t iy = y0 + static_cast<std::ptrdiff_t>(ky);
            if (iy < 0 || iy >= static_cast<std::ptrdiff_t>(g.in_h)) continue;
            float* dst_row = image + static_cast<std::size_t>(iy) * g.in_w * g.in_c;
            for (std::size_t kx = 0; kx < g.kernel_w; ++kx) {
                const std::ptrdiff_t ix = x0 + static_cast<std::ptrdiff_t>(kx);
                if (ix < 0 || ix >= static_cast<std::ptrdiff_t>(g.in_w)) continue;
                const float* s = row + (ky * g.kernel_w + kx) * g.in_c;
                float* d = dst_row + static_cast<std::size_t>(ix) * g.in_c;
                for (std::size_t c = 0; c < g.in_c; ++c) d[c] += s[c];
            }
        }
    }
}

namespace conv_detail {

// Patch rows per block: enough for an efficient GEMM (>= 256 rows where the patch
// allows), about 2 MiB of patches otherwise.
inline std::size_t rows_per_block(const ConvGeometry& g, std::size_t rows) {
    const std::size_t by_size = (std::size_t{1} << 19) / std::max<std::size_t>(g.patch_size(), 1);
    const std::size_t block = std::clamp<std::size_t>(by_size, 256, 8192);
    const std::size_t threads = static_cast<std::size_t>(cpu_threads());
    return std::max<std::size_t>(1, std::min(block, (rows + threads - 1) / threads));
}

// Whether the direct kernel handles this shape: few input channels, and output
// channels in whole registers (up to four of them).
inline bool direct_applies(const ConvGeometry& g) {
    return g.in_c <= 4 && g.filters % simd::lanes == 0 && g.filters <= 4 * simd::lanes &&
           g.patch_size() <= 64;
}

inline bool fuses(ActivationKind act) { return act == ActivationKind::linear || act == ActivationKind::relu; }

using detail::bias_relu_rows;

// Few input channels: patch rows are short (27 floats for a 3x3 RGB layer), too short
// for BLAS to pay its packing. The kernels read the input in place: tap t of an output
// pixel is at a fixed offset from the pixel's window corner (offsets[t]), so a run of
// pixels in one output row needs no copy unless its windows touch the padding; those
// few runs are gathered by im2col_rows into a tiny patch block first.
inline constexpr std::size_t direct_max_taps = 64;

// Offsets past the last tap are 0: kernels may compute a few taps too many and drop them.
struct DirectTaps {
    static constexpr std::size_t room = direct_max_taps + 32;
    std::size_t window[room] = {};    // offsets of the taps from the window corner, in x
    std::size_t gathered[room] = {};  // offsets in a gathered patch row: 0, 1, 2, ...
};

inline void direct_taps(const ConvGeometry& g, DirectTaps& taps) {
    // Callers check direct_applies(); saying so here also lets the compiler see the bound.
    if (g.patch_size() > direct_max_taps)
        throw std::logic_error("typenet: the direct convolution kernel takes at most 64 taps per patch, got " +
                               std::to_string(g.patch_size()));
    std::size_t t = 0;
    for (std::size_t ky = 0; ky < g.kernel_h; ++ky)
        for (std::size_t kx = 0; kx < g.kernel_w; ++kx)
            for (std::size_t c = 0; c < g.in_c; ++c, ++t) {
                taps.window[t] = (ky * g.in_w + kx) * g.in_c + c;
                taps.gathered[t] = t;
            }
}

// Calls run(first_row, count, base, offsets, pixel_step) for the rows [first, first +
// count) in runs of at most `most` pixels of one output row: base + offsets[t] +
// q * pixel_step is tap t of the run's pixel q. `patches` holds `most` gathered rows.
template <class Run>
TYPENET_SIMD_INLINE void direct_runs(const ConvGeometry& g, const float* x, std::size_t first, std::size_t count, std::size_t most,
                 const DirectTaps& taps, float* patches, Run&& run) {
    const std::size_t pixels = g.out_pixels(), end = first + count;
    for (std::size_t r = first; r < end;) {
        const std::size_t n = r / pixels, p = r % pixels, oy = p / g.out_w, ox = p % g.out_w;
        const std::size_t length = std::min({most, end - r, g.out_w - ox});
        const std::ptrdiff_t y0 = static_cast<std::ptrdiff_t>(oy * g.stride_h) - static_cast<std::ptrdiff_t>(g.pad_top);
        const std::ptrdiff_t x0 = static_cast<std::ptrdiff_t>(ox * g.stride_w) - static_cast<std::ptrdiff_t>(g.pad_left);
        const std::ptrdiff_t x_last = x0 + static_cast<std::ptrdiff_t>((length - 1) * g.stride_w + g.kernel_w);
        const bool inside = y0 >= 0 && y0 + static_cast<std::ptrdiff_t>(g.kernel_h) <= static_cast<std::ptrdiff_t>(g.in_h) &&
                            x0 >= 0 && x_last <= static_cast<std::ptrdiff_t>(g.in_w);
        if (inside) {
            const float* corner = x + n * g.in_size() +
                                  (static_cast<std::size_t>(y0) * g.in_w + static_cast<std::size_t>(x0)) * g.in_c;
            run(r, length, corner, taps.window, g.stride_w * g.in_c);
        } else {
            im2col_rows(g, x, r, length, patches);
            run(r, length, static_cast<const float*>(patches), taps.gathered, g.patch_size());
        }
        r += length;
    }
}

// Up to Pixels output pixels x Vectors registers of output channels: each kernel row
// loaded feeds Pixels FMAs.
template <std::size_t Vectors, std::size_t Pixels>
TYPENET_SIMD_INLINE void direct_pixels(const float* base, const std::size_t* offsets, std::size_t step,
                                       std::size_t taps, std::size_t run, const float* kernel, std::size_t K,
                                       const simd::vfloat* bias, ReLUClamp relu, float* y) {
    simd::vfloat acc[Pixels][Vectors];
TYPENET_UNROLL(16)
    for (std::size_t q = 0; q < Pixels; ++q)
TYPENET_UNROLL(4)
        for (std::size_t v = 0; v < Vectors; ++v) acc[q][v] = bias[v];
    std::size_t at[Pixels];
TYPENET_UNROLL(16)
    for (std::size_t q = 0; q < Pixels; ++q) at[q] = std::min(q, run - 1) * step;  // past the run: repeats, not stored
    for (std::size_t t = 0; t < taps; ++t) {
        simd::vfloat w[Vectors];
TYPENET_UNROLL(4)
        for (std::size_t v = 0; v < Vectors; ++v) simd::load(w[v], kernel + t * K + v * simd::lanes);
        const float* tap = base + offsets[t];
TYPENET_UNROLL(16)
        for (std::size_t q = 0; q < Pixels; ++q) {
            const float xv = tap[at[q]];
TYPENET_UNROLL(4)
            for (std::size_t v = 0; v < Vectors; ++v) acc[q][v] += xv * w[v];
        }
    }
    for (std::size_t q = 0; q < run; ++q)
        for (std::size_t v = 0; v < Vectors; ++v) {
            simd::vfloat o = acc[q][v];
            apply_relu_clamp(relu, o);  // NaN passes, as in TensorFlow
            simd::store(y + q * K + v * simd::lanes, o);
        }
}

// Builds: the instruction sets this shape of register block is for (simd::Builds).
template <std::size_t Vectors, std::size_t Pixels, simd::Builds Builds>
void direct_forward_rows(const ConvGeometry& g, const float* x, std::size_t first, std::size_t count,
                         const DirectTaps& taps, float* patches, const float* kernel, const float* bias, ReLUClamp relu,
                         float* y) {
    const std::size_t K = g.filters, n_taps = g.patch_size();
    simd::run<Builds>([&]() TYPENET_SIMD {
        simd::vfloat bias_v[Vectors];
        for (std::size_t v = 0; v < Vectors; ++v) {
            bias_v[v] = simd::vfloat{};
            if (bias != nullptr) simd::load(bias_v[v], bias + v * simd::lanes);
        }
        direct_runs(g, x, first, count, Pixels, taps, patches,
                    [&](std::size_t r, std::size_t run, const float* base, const std::size_t* offsets, std::size_t step)
                        TYPENET_SIMD {
                            direct_pixels<Vectors, Pixels>(base, offsets, step, n_taps, run, kernel, K, bias_v, relu,
                                                           y + r * K);
                        });
    });
}

inline constexpr std::size_t direct_rows_per_block = 2048;

inline void forward_direct(const ConvGeometry& g, const float* x, std::size_t batch, const float* kernel,
                           const float* bias, ReLUClamp relu, float* y, CpuScratch& scratch) {
    const std::size_t rows = batch * g.out_pixels(), K = g.filters;
    DirectTaps taps;
    direct_taps(g, taps);
    constexpr std::size_t most_pixels = 12;
    float* base = scratch.per_thread(most_pixels * g.patch_size());
    const std::size_t stride = CpuScratch::per_thread_stride(most_pixels * g.patch_size());
    const std::size_t block = direct_rows_per_block;
    parallel_tasks((rows + block - 1) / block, [&](std::size_t task, unsigned slot) {
        const std::size_t first = task * block, count = std::min(block, rows - first);
        float* patches = base + slot * stride;
        // Register blocks for 32 AVX-512 registers; AVX2 and older have 16 half as wide,
        // where a 16-float value takes two or more: smaller blocks, or they spill.
        const bool wide = simd::active_isa() == simd::Isa::avx512;
        constexpr auto wide_only = simd::Builds::avx512_only, narrow = simd::Builds::below_avx512;
        switch ((K / simd::lanes) * 2 + (wide ? 1 : 0)) {
            case 3: direct_forward_rows<1, 12, wide_only>(g, x, first, count, taps, patches, kernel, bias, relu, y); break;
            case 5: direct_forward_rows<2, 8, wide_only>(g, x, first, count, taps, patches, kernel, bias, relu, y); break;
            case 7: direct_forward_rows<3, 6, wide_only>(g, x, first, count, taps, patches, kernel, bias, relu, y); break;
            case 9: direct_forward_rows<4, 6, wide_only>(g, x, first, count, taps, patches, kernel, bias, relu, y); break;
            case 2: direct_forward_rows<1, 4, narrow>(g, x, first, count, taps, patches, kernel, bias, relu, y); break;
            case 4: direct_forward_rows<2, 2, narrow>(g, x, first, count, taps, patches, kernel, bias, relu, y); break;
            case 6: direct_forward_rows<3, 1, narrow>(g, x, first, count, taps, patches, kernel, bias, relu, y); break;
            default:  // 64 filters without AVX-512, or more than 64 under any
                direct_forward_rows<4, 1, simd::Builds::all>(g, x, first, count, taps, patches, kernel, bias, relu, y);
                break;
        }
    });
}

// The kernel gradient for few input channels: sum over rows of patch^T dz, with up to
// `held` taps x one register of output channels held in registers over a block of rows.
template <std::size_t held, simd::Builds Builds>
void direct_kernel_gradient_rows(const ConvGeometry& g, const float* x, std::size_t first, std::size_t count,
                                        const DirectTaps& taps, float* patches, const float* dz, float* sum) {
    const std::size_t K = g.filters, n_taps = g.patch_size();
    simd::run<Builds>([&]() TYPENET_SIMD {
        for (std::size_t k = 0; k < K; k += simd::lanes)
            for (std::size_t t0 = 0; t0 < n_taps; t0 += held) {
                const std::size_t n = std::min(held, n_taps - t0);
                simd::vfloat acc[held];
                for (std::size_t t = 0; t < held; ++t) acc[t] = simd::vfloat{};
                direct_runs(g, x, first, count, 16, taps, patches,
                            [&](std::size_t r, std::size_t run, const float* base, const std::size_t* offsets,
                                std::size_t step) TYPENET_SIMD {
                                // Registers for the run, added to acc once per run.
                                simd::vfloat part[held];
TYPENET_UNROLL(24)
                                for (std::size_t t = 0; t < held; ++t) part[t] = simd::vfloat{};
                                const std::size_t* at = offsets + t0;
                                for (std::size_t q = 0; q < run; ++q) {
                                    simd::vfloat d;
                                    simd::load(d, dz + (r + q) * K + k);
                                    const float* pixel = base + q * step;
TYPENET_UNROLL(24)
                                    for (std::size_t t = 0; t < held; ++t) part[t] += pixel[at[t]] * d;
                                }
TYPENET_UNROLL(24)
                                for (std::size_t t = 0; t < held; ++t) acc[t] += part[t];
                            });
                for (std::size_t t = 0; t < n; ++t) {
                    simd::vfloat s;
                    simd::load(s, sum + (t0 + t) * K + k);
                    simd::store(sum + (t0 + t) * K + k, s + acc[t]);
                }
            }
    });
}

inline void backward_kernel_direct(const ConvGeometry& g, const float* x, std::size_t batch, const float* dz,
                                   float* dkernel, CpuScratch& scratch) {
    const std::size_t rows = batch * g.out_pixels(), K = g.filters, own = g.patch_size() * K;
    const std::size_t threads = static_cast<std::size_t>(cpu_threads());
    DirectTaps taps;
    direct_taps(g, taps);
    const std::size_t patch_floats = 16 * g.patch_size();
    float* base = scratch.per_thread(patch_floats + own);
    const std::size_t stride = CpuScratch::per_thread_stride(patch_floats + own);
    for (std::size_t t = 0; t < threads; ++t) std::memset(base + t * stride + patch_floats, 0, own * sizeof(float));
    const std::size_t block = direct_rows_per_block;
    // One sum per part, parts added in order: the same bits on every run.
    parallel_runs((rows + block - 1) / block, threads, [&](std::size_t task, std::size_t part, unsigned slot) {
        const std::size_t first = task * block, count = std::min(block, rows - first);
        float* patches = base + slot * stride;
        float* sum = base + part * stride + patch_floats;
        if (simd::active_isa() == simd::Isa::avx512)  // 32 registers
            direct_kernel_gradient_rows<24, simd::Builds::avx512_only>(g, x, first, count, taps, patches, dz, sum);
        else
            direct_kernel_gradient_rows<6, simd::Builds::below_avx512>(g, x, first, count, taps, patches, dz, sum);
    });
    for (std::size_t i = 0; i < own; ++i) {
        float total = 0.0f;
        for (std::size_t t = 0; t < threads; ++t) total += base[t * stride + patch_floats + i];
        dkernel[i] = total;
    }
}

// A 1x1 convolution without padding is a matrix product of the pixels (rows of C floats)
// and the kernel (C x filters): at stride 1 the input itself is the left operand, no
// copy; at stride s the pixels of every s-th row and column are gathered a block at a
// time (subsampling, C floats per pixel, no patch assembly). Blocks of rows per thread,
// bias and ReLU applied while the block is in cache.
inline bool pointwise_applies(const ConvGeometry& g) {
    return g.kernel_h == 1 && g.kernel_w == 1 && g.pad_top == 0 && g.pad_left == 0;
}

inline void forward_pointwise(const ConvGeometry& g, const float* x, std::size_t batch, const float* kernel,
                              const float* bias, ReLUClamp relu, float* y, CpuScratch& scratch) {
    const std::size_t C = g.in_c, K = g.filters, rows = batch * g.out_pixels();
    const bool strided = g.stride_h != 1 || g.stride_w != 1;
    const std::size_t block = rows_per_block(g, rows);
    float* base = strided ? scratch.per_thread(block * C) : nullptr;
    const std::size_t stride = strided ? CpuScratch::per_thread_stride(block * C) : 0;
    parallel_tasks((rows + block - 1) / block, [&](std::size_t task, unsigned slot) {
        const std::size_t first = task * block, count = std::min(block, rows - first);
        const float* a = x + first * C;
        if (strided) {
            float* gathered = base + slot * stride;
            const std::size_t pixels = g.out_pixels();
            for (std::size_t r = 0; r < count; ++r) {
                const std::size_t n = (first + r) / pixels, p = (first + r) % pixels;
                const std::size_t iy = (p / g.out_w) * g.stride_h, ix = (p % g.out_w) * g.stride_w;
                std::memcpy(gathered + r * C, x + n * g.in_size() + (iy * g.in_w + ix) * C, C * sizeof(float));
            }
            a = gathered;
        }
        float* out = y + first * K;
        gemm_serial(false, false, count, K, C, 1.0f, a, C, kernel, K, 0.0f, out, K);
        bias_relu_rows(out, bias, count, K, relu);
    });
}

inline void forward_im2col(const ConvGeometry& g, const float* x, std::size_t batch, const float* kernel,
                           const float* bias, ReLUClamp relu, float* y, CpuScratch& scratch) {
    const std::size_t k = g.patch_size(), rows = batch * g.out_pixels();
    if (pointwise_applies(g)) return forward_pointwise(g, x, batch, kernel, bias, relu, y, scratch);
    const std::size_t block = rows_per_block(g, rows);
    float* base = scratch.per_thread(block * k);
    const std::size_t stride = CpuScratch::per_thread_stride(block * k);
    parallel_tasks((rows + block - 1) / block, [&](std::size_t task, unsigned slot) {
        const std::size_t first = task * block, count = std::min(block, rows - first);
        float* columns = base + slot * stride;
        im2col_rows(g, x, first, count, columns);
        float* out = y + first * g.filters;
        gemm_serial(false, false, count, g.filters, k, 1.0f, columns, k, kernel, g.filters, 0.0f, out, g.filters);
        bias_relu_rows(out, bias, count, g.filters, relu);
    });
}

template <std::size_t Tile>
void forward_winograd(const ConvGeometry& g, const float* x, std::size_t batch, const float* kernel, const float* bias,
                      ReLUClamp relu, float* y, CpuScratch& scratch) {
    float* U = scratch.shared(0, winograd::kernel_floats<Tile>(g));
    winograd::transform_kernel<Tile>(kernel, g.in_c, g.filters, U);
    winograd::convolve<Tile>(g, x, batch, U, bias, relu, y, scratch);
}

// The geometry of dL/dx = dL/dz (*) flipped kernel, for 3x3 stride 1: a convolution
// of the output gradient, padded by (2 - pad), back to the input size.
inline ConvGeometry input_gradient_geometry(const ConvGeometry& g) {
    return ConvGeometry{g.out_h,     g.out_w,     g.filters, 3, 3, g.in_c, 1, 1, 2 - g.pad_top, 2 - g.pad_left,
                        g.in_h,      g.in_w};
}

template <std::size_t Tile>
void backward_data_winograd(const ConvGeometry& g, const float* dz, std::size_t batch, const float* kernel, float* dx,
                            CpuScratch& scratch) {
    const ConvGeometry back = input_gradient_geometry(g);
    float* U = scratch.shared(0, winograd::kernel_floats<Tile>(back));
    float* transposed = scratch.shared(1, 9 * g.in_c * g.filters);
    winograd::transform_flipped_kernel<Tile>(kernel, g.in_c, g.filters, U, transposed);
    winograd::convolve<Tile>(back, dz, batch, U, nullptr, false, dx, scratch);
}

inline void backward_data_im2col(const ConvGeometry& g, const float* dz, std::size_t batch, const float* kernel,
                                 float* dx, CpuScratch& scratch) {
    const std::size_t k = g.patch_size(), pixels = g.out_pixels();
    const std::size_t block = std::min(rows_per_block(g, pixels * batch), pixels);
    float* base = scratch.per_thread(block * k);
    const std::size_t stride = CpuScratch::per_thread_stride(block * k);
    // One image per task: col2im of one image touches only that image.
    parallel_tasks(batch, [&](std::size_t n, unsigned slot) {
        float* columns = base + slot * stride;
        std::memset(dx + n * g.in_size(), 0, g.in_size() * sizeof(float));
        for (std::size_t p = 0; p < pixels; p += block) {
            const std::size_t first = n * pixels + p, count = std::min(block, pixels - p);
            gemm_serial(false, true, count, k, g.filters, 1.0f, dz + first * g.filters, g.filters, kernel, g.filters,
                        0.0f, columns, k);
            col2im_rows_add(g, columns, first, count, dx);
        }
    });
}

// dK = sum over patch rows of patch^T dz: each part of the rows is summed into its own
// copy, then the copies are added in order.
inline void backward_kernel_im2col(const ConvGeometry& g, const float* x, std::size_t batch, const float* dz,
                                   float* dkernel, CpuScratch& scratch) {
    const std::size_t k = g.patch_size(), K = g.filters, rows = batch * g.out_pixels();
    const std::size_t block = rows_per_block(g, rows);
    const std::size_t threads = static_cast<std::size_t>(cpu_threads());
    const std::size_t own = k * K;
    float* base = scratch.per_thread(block * k + own);
    const std::size_t stride = CpuScratch::per_thread_stride(block * k + own);
    for (std::size_t t = 0; t < threads; ++t) std::memset(base + t * stride + block * k, 0, own * sizeof(float));
    // One sum per part, parts added in order: the same bits on every run.
    parallel_runs((rows + block - 1) / block, threads, [&](std::size_t task, std::size_t part, unsigned slot) {
        const std::size_t first = task * block, count = std::min(block, rows - first);
        float* columns = base + slot * stride;
        float* sum = base + part * stride + block * k;
        if (g.is_pointwise())
            gemm_serial(true, false, k, K, count, 1.0f, x + first * k, k, dz + first * K, K, 1.0f, sum, K);
        else {
            im2col_rows(g, x, first, count, columns);
            gemm_serial(true, false, k, K, count, 1.0f, columns, k, dz + first * K, K, 1.0f, sum, K);
        }
    });
    parallel_for(own, [&](std::size_t i) {
        float total = 0.0f;
        for (std::size_t t = 0; t < threads; ++t) total += base[t * stride + block * k + i];
        dkernel[i] = total;
    }, 2 * threads);
}

}  // namespace conv_detail

// Which method `automatic` picks for this geometry (forward): never winograd_fast, whose
// rounding error is several times im2col's.
inline ConvMethod conv2d_forward_method(const ConvGeometry& g) {
    if (winograd::applies(g)) return ConvMethod::winograd;
    if (conv_detail::direct_applies(g)) return ConvMethod::direct;
    return ConvMethod::im2col;
}

// The method that runs when `method` is asked for: automatic resolved, a method that
// cannot do the shape replaced by im2col (the documented rule, conv_algorithm.hpp).
inline ConvMethod conv2d_resolved_method(ConvMethod method, const ConvGeometry& g) {
    if (method == ConvMethod::automatic) return conv2d_forward_method(g);
    if ((method == ConvMethod::winograd || method == ConvMethod::winograd_fast) && !winograd::applies(g))
        return ConvMethod::im2col;
    if (method == ConvMethod::direct && !conv_detail::direct_applies(g)) return ConvMethod::im2col;
    return method;
}

// conv2d_forward by a chosen method; a method that cannot do the shape falls back to im2col.
// With act relu, relu_ceiling caps it (ReLU(max_value) folded in, relu_clamp.hpp).
inline void conv2d_forward_by(ConvMethod method, const ConvGeometry& g, const float* x, std::size_t batch,
                              const float* kernel, const float* bias, float* y, ActivationKind act,
                              float relu_ceiling = std::numeric_limits<float>::infinity()) {
    if (batch == 0) return;
    method = conv2d_resolved_method(method, g);
    const bool fused = conv_detail::fuses(act);
    const ReLUClamp relu{act == ActivationKind::relu, relu_ceiling};
    CpuScratch& scratch = CpuScratch::instance();
    {
        auto lock = scratch.lock();
        switch (method) {
            case ConvMethod::winograd:
                conv_detail::forward_winograd<2>(g, x, batch, kernel, bias, relu, y, scratch);
                break;
            case ConvMethod::winograd_fast:
                conv_detail::forward_winograd<4>(g, x, batch, kernel, bias, relu, y, scratch);
                break;
            case ConvMethod::direct: conv_detail::forward_direct(g, x, batch, kernel, bias, relu, y, scratch); break;
            default: conv_detail::forward_im2col(g, x, batch, kernel, bias, relu, y, scratch); break;
        }
    }
    // Sigmoid and softmax outputs are rare in convolutions: bias went in above, the
    // activation is one more pass.
    if (!fused) bias_activation(y, nullptr, batch * g.out_pixels(), g.filters, act);
}

inline void conv2d_forward(const ConvGeometry& g, const float* x, std::size_t batch, const float* kernel,
                           const float* bias, float* y, ActivationKind act, Buffer<cpu>& /*workspace*/) {
    conv2d_forward_by(conv_method(), g, x, batch, kernel, bias, y, act);
}

// conv2d_forward with a ReLU capped at relu_ceiling after it (act relu): a folded
// Conv2D + BatchNormalization + ReLU(max_value) in inference (CPU only, Kernels<cpu>).
inline void conv2d_forward_capped(const ConvGeometry& g, const float* x, std::size_t batch, const float* kernel,
                                  const float* bias, float* y, ActivationKind act, float relu_ceiling) {
    conv2d_forward_by(conv_method(), g, x, batch, kernel, bias, y, act, relu_ceiling);
}

// conv2d_backward by a chosen method: winograd or winograd_fast (all three gradients), direct (the kernel
// gradient; the input gradient by im2col) or im2col; unfit methods fall back to im2col.
inline void conv2d_backward_by(ConvMethod method, const ConvGeometry& g, const float* x, std::size_t batch,
                               const float* kernel, const float* dz, float* dx, float* dkernel, float* dbias) {
    const std::size_t rows = batch * g.out_pixels();
    if (dbias != nullptr) column_sums(dz, rows, g.filters, dbias);
    if (batch == 0) {
        if (dkernel != nullptr) std::fill(dkernel, dkernel + g.patch_size() * g.filters, 0.0f);
        return;
    }
    method = conv2d_resolved_method(method, g);
    CpuScratch& scratch = CpuScratch::instance();
    auto lock = scratch.lock();
    if (dkernel != nullptr) {
        if (method == ConvMethod::winograd)
            winograd::kernel_gradient<2>(g, x, batch, dz, dkernel, scratch);
        else if (method == ConvMethod::winograd_fast)
            winograd::kernel_gradient<4>(g, x, batch, dz, dkernel, scratch);
        else if (method == ConvMethod::direct)
            conv_detail::backward_kernel_direct(g, x, batch, dz, dkernel, scratch);
        else
            conv_detail::backward_kernel_im2col(g, x, batch, dz, dkernel, scratch);
    }
    if (dx == nullptr) return;
    if (g.is_pointwise())
        gemm(false, true, rows, g.patch_size(), g.filters, 1.0f, dz, g.filters, kernel, g.filters, 0.0f, dx,
             g.patch_size());
    else if (method == ConvMethod::winograd)
        conv_detail::backward_data_winograd<2>(g, dz, batch, kernel, dx, scratch);
    else if (method == ConvMethod::winograd_fast)
        conv_detail::backward_data_winograd<4>(g, dz, batch, kernel, dx, scratch);
    else
        conv_detail::backward_data_im2col(g, dz, batch, kernel, dx, scratch);
}

inline void conv2d_backward(const ConvGeometry& g, const float* x, std::size_t batch, const float* kernel,
                            const float* dz, float* dx, float* dkernel, float* dbias, Buffer<cpu>& /*workspace*/) {
    conv2d_backward_by(conv_method(), g, x, batch, kernel, dz, dx, dkernel, dbias);
}

}  // namespace typenet::cpu_kernels
