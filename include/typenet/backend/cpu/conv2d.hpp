// typenet/backend/cpu/conv2d.hpp
// Convolution on the CPU, by whichever method is fastest for the shape:
//   winograd  3x3 stride 1 with 8+ channels: F(4x4, 3x3), a quarter of the multiplies
//             (winograd.hpp); also the input gradient, as a convolution with the
//             flipped kernel, and the kernel gradient, by F(3x3, 4x4) on the same points
//   direct    few input channels (the first layer, C = 3): an im2col GEMM there is
//             22500 x 16 x 27, too skinny for BLAS, so the kernel loops over pixels
//             with all output channels in registers
//   im2col    everything else (strides, other kernel sizes, the first layer's kernel
//             gradient): patch rows gathered a block at a time, one GEMM per block
// Every method splits its work over the pool's threads itself, calls single-threaded
// GEMMs, and adds bias and activation while the block is still in cache.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "typenet/backend/cpu/blas.hpp"
#include "typenet/backend/cpu/elementwise.hpp"
#include "typenet/backend/cpu/parallel.hpp"
#include "typenet/backend/cpu/scratch.hpp"
#include "typenet/backend/cpu/simd.hpp"
#include "typenet/backend/cpu/winograd.hpp"
#include "typenet/backend/kernels.hpp"
#include "typenet/core/buffer.hpp"

namespace typenet::cpu_kernels {

// How a convolution is computed; `automatic` picks per shape (tests force the others).
enum class ConvMethod { automatic, im2col, winograd, direct };

// Patch rows of one image: row (oy, ox) holds the (kh, kw, cin) window, zeros where
// the window hangs over the padding. Matches the Keras kernel layout (kh, kw, cin, cout).
inline void im2col(const ConvGeometry& g, const float* image, float* columns);

// Patch rows [first, first + count) of the whole batch's im2col matrix (row = image *
// out_pixels + oy * out_w + ox).
inline void im2col_rows(const ConvGeometry& g, const float* x, std::size_t first, std::size_t count, float* columns) {
    const std::size_t row_len = g.patch_size();
    const std::size_t span = g.kernel_w * g.in_c;
    const std::size_t pixels = g.out_pixels();
    for (std::size_t r = 0; r < count; ++r) {
        const std::size_t row_index = first + r;
        const std::size_t n = row_index / pixels, p = row_index % pixels;
        const std::size_t oy = p / g.out_w, ox = p % g.out_w;
        const float* image = x + n * g.in_size();
        float* row = columns + r * row_len;
        const std::ptrdiff_t y0 = static_cast<std::ptrdiff_t>(oy * g.stride_h) - static_cast<std::ptrdiff_t>(g.pad_top);
        const std::ptrdiff_t x0 = static_cast<std::ptrdiff_t>(ox * g.stride_w) - static_cast<std::ptrdiff_t>(g.pad_left);
        const bool inside_x = x0 >= 0 && x0 + static_cast<std::ptrdiff_t>(g.kernel_w) <= static_cast<std::ptrdiff_t>(g.in_w);
        for (std::size_t ky = 0; ky < g.kernel_h; ++ky) {
            float* dst = row + ky * span;
            const std::ptrdiff_t iy = y0 + static_cast<std::ptrdiff_t>(ky);
            if (iy < 0 || iy >= static_cast<std::ptrdiff_t>(g.in_h)) {
                std::memset(dst, 0, span * sizeof(float));
                continue;
            }
            const float* src_row = image + static_cast<std::size_t>(iy) * g.in_w * g.in_c;
            if (inside_x) {  // the whole window row is contiguous in NHWC
                std::memcpy(dst, src_row + static_cast<std::size_t>(x0) * g.in_c, span * sizeof(float));
                continue;
            }
            for (std::size_t kx = 0; kx < g.kernel_w; ++kx) {
                const std::ptrdiff_t ix = x0 + static_cast<std::ptrdiff_t>(kx);
                float* d = dst + kx * g.in_c;
                if (ix < 0 || ix >= static_cast<std::ptrdiff_t>(g.in_w))
                    std::memset(d, 0, g.in_c * sizeof(float));
                else
                    std::memcpy(d, src_row + static_cast<std::size_t>(ix) * g.in_c, g.in_c * sizeof(float));
            }
        }
    }
}

inline void im2col(const ConvGeometry& g, const float* image, float* columns) {
    im2col_rows(g, image, 0, g.out_pixels(), columns);
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

inline void col2im_add(const ConvGeometry& g, const float* columns, float* image) {
    col2im_rows_add(g, columns, 0, g.out_pixels(), image);
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
    return g.in_c <= 4 && g.filters % simd::lanes == 0 && g.filters <= 4 * simd::lanes;
}

inline bool fuses(ActivationKind act) { return act == ActivationKind::linear || act == ActivationKind::relu; }

// Bias and linear/ReLU over rows of a block, vectorised over channels.
inline void bias_relu_rows(float* y, const float* bias, std::size_t rows, std::size_t cols, bool relu) {
    if (bias == nullptr && !relu) return;
    simd::run([&]() TYPENET_SIMD {
        for (std::size_t r = 0; r < rows; ++r) {
            float* row = y + r * cols;
            for (std::size_t c = 0; c < cols; c += simd::lanes) {
                const std::size_t width = std::min(simd::lanes, cols - c);
                simd::vfloat v, b{};
                simd::load_n(v, row + c, width);
                if (bias != nullptr) simd::load_n(b, bias + c, width);
                v += b;
                if (relu) v = v > 0.0f ? v : simd::vfloat{};
                simd::store_n(row + c, v, width);
            }
        }
    });
}

// Direct convolution for few input channels: Pixels output pixels at a time, each with
// Vectors registers of output channels, so every loaded kernel row feeds Pixels FMAs.
template <std::size_t Vectors, std::size_t Pixels>
void direct_rows(const ConvGeometry& g, const float* x, const float* kernel, const float* bias, bool relu, float* y,
                 std::size_t first, std::size_t count) {
    const std::size_t K = g.filters, C = g.in_c, pixels = g.out_pixels();
    simd::run([&]() TYPENET_SIMD {
        simd::vfloat bias_v[Vectors];
        for (std::size_t v = 0; v < Vectors; ++v) {
            bias_v[v] = simd::vfloat{};
            if (bias != nullptr) simd::load(bias_v[v], bias + v * simd::lanes);
        }
        std::size_t r = first;
        const std::size_t end = first + count;
        while (r < end) {
            // A run of up to Pixels outputs in the same image row.
            const std::size_t n = r / pixels, p = r % pixels, oy = p / g.out_w, ox = p % g.out_w;
            const std::size_t run = std::min({Pixels, end - r, g.out_w - ox});
            const float* image = x + n * g.in_size();
            simd::vfloat acc[Pixels][Vectors];
            for (std::size_t q = 0; q < Pixels; ++q)
                for (std::size_t v = 0; v < Vectors; ++v) acc[q][v] = bias_v[v];
            const std::ptrdiff_t y0 = static_cast<std::ptrdiff_t>(oy * g.stride_h) - static_cast<std::ptrdiff_t>(g.pad_top);
            for (std::size_t ky = 0; ky < g.kernel_h; ++ky) {
                const std::ptrdiff_t iy = y0 + static_cast<std::ptrdiff_t>(ky);
                if (iy < 0 || iy >= static_cast<std::ptrdiff_t>(g.in_h)) continue;
                const float* src_row = image + static_cast<std::size_t>(iy) * g.in_w * C;
                for (std::size_t kx = 0; kx < g.kernel_w; ++kx) {
                    const float* w_row = kernel + (ky * g.kernel_w + kx) * C * K;
                    const float* at[Pixels];
                    for (std::size_t q = 0; q < Pixels; ++q) {
                        const std::ptrdiff_t ix = static_cast<std::ptrdiff_t>((ox + std::min(q, run - 1)) * g.stride_w) -
                                                  static_cast<std::ptrdiff_t>(g.pad_left) + static_cast<std::ptrdiff_t>(kx);
                        at[q] = (q < run && ix >= 0 && ix < static_cast<std::ptrdiff_t>(g.in_w))
                                    ? src_row + static_cast<std::size_t>(ix) * C
                                    : nullptr;
                    }
                    for (std::size_t c = 0; c < C; ++c) {
                        simd::vfloat w[Vectors];
                        for (std::size_t v = 0; v < Vectors; ++v) simd::load(w[v], w_row + c * K + v * simd::lanes);
                        for (std::size_t q = 0; q < Pixels; ++q) {
                            const float xv = at[q] != nullptr ? at[q][c] : 0.0f;
                            for (std::size_t v = 0; v < Vectors; ++v) acc[q][v] += xv * w[v];
                        }
                    }
                }
            }
            float* out = y + r * K;
            for (std::size_t q = 0; q < run; ++q)
                for (std::size_t v = 0; v < Vectors; ++v) {
                    simd::vfloat o = acc[q][v];
                    if (relu) o = o > 0.0f ? o : simd::vfloat{};
                    simd::store(out + q * K + v * simd::lanes, o);
                }
            r += run;
        }
    });
}

inline void forward_direct(const ConvGeometry& g, const float* x, std::size_t batch, const float* kernel,
                           const float* bias, bool relu, float* y) {
    const std::size_t rows = batch * g.out_pixels();
    const std::size_t block = 1024;
    const std::size_t blocks = (rows + block - 1) / block;
    parallel_tasks(blocks, [&](std::size_t task, unsigned) {
        const std::size_t first = task * block, count = std::min(block, rows - first);
        switch (g.filters / simd::lanes) {
            case 1: direct_rows<1, 8>(g, x, kernel, bias, relu, y, first, count); break;
            case 2: direct_rows<2, 6>(g, x, kernel, bias, relu, y, first, count); break;
            case 3: direct_rows<3, 4>(g, x, kernel, bias, relu, y, first, count); break;
            default: direct_rows<4, 4>(g, x, kernel, bias, relu, y, first, count); break;
        }
    });
}

inline void forward_im2col(const ConvGeometry& g, const float* x, std::size_t batch, const float* kernel,
                           const float* bias, bool relu, float* y, CpuScratch& scratch) {
    const std::size_t k = g.patch_size(), rows = batch * g.out_pixels();
    if (g.is_pointwise()) {  // a 1x1 convolution is a plain matrix product
        gemm(false, false, rows, g.filters, k, 1.0f, x, k, kernel, g.filters, 0.0f, y, g.filters);
        bias_relu_rows(y, bias, rows, g.filters, relu);  // memory-bound: one pass is enough
        return;
    }
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

inline void forward_winograd(const ConvGeometry& g, const float* x, std::size_t batch, const float* kernel,
                             const float* bias, bool relu, float* y, CpuScratch& scratch) {
    float* U = scratch.shared(0, winograd::kernel_floats(g));
    winograd::transform_kernel(kernel, g.in_c, g.filters, U);
    winograd::convolve(g, x, batch, U, bias, relu, y, scratch);
}

// The geometry of dL/dx = dL/dz (*) flipped kernel, for 3x3 stride 1: a convolution
// of the output gradient, padded by (2 - pad), back to the input size.
inline ConvGeometry input_gradient_geometry(const ConvGeometry& g) {
    return ConvGeometry{g.out_h,     g.out_w,     g.filters, 3, 3, g.in_c, 1, 1, 2 - g.pad_top, 2 - g.pad_left,
                        g.in_h,      g.in_w};
}

inline void backward_data_winograd(const ConvGeometry& g, const float* dz, std::size_t batch, const float* kernel,
                                   float* dx, CpuScratch& scratch) {
    const ConvGeometry back = input_gradient_geometry(g);
    float* U = scratch.shared(0, winograd::kernel_floats(back));
    float* transposed = scratch.shared(1, 9 * g.in_c * g.filters);
    winograd::transform_flipped_kernel(kernel, g.in_c, g.filters, U, transposed);
    winograd::convolve(back, dz, batch, U, nullptr, false, dx, scratch);
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

// dK = sum over patch rows of patch^T dz: each thread sums its blocks into its own
// copy, then the copies are added.
inline void backward_kernel_im2col(const ConvGeometry& g, const float* x, std::size_t batch, const float* dz,
                                   float* dkernel, CpuScratch& scratch) {
    const std::size_t k = g.patch_size(), K = g.filters, rows = batch * g.out_pixels();
    const std::size_t block = rows_per_block(g, rows);
    const std::size_t threads = static_cast<std::size_t>(cpu_threads());
    const std::size_t own = k * K;
    float* base = scratch.per_thread(block * k + own);
    const std::size_t stride = CpuScratch::per_thread_stride(block * k + own);
    for (std::size_t t = 0; t < threads; ++t) std::memset(base + t * stride + block * k, 0, own * sizeof(float));
    parallel_tasks((rows + block - 1) / block, [&](std::size_t task, unsigned slot) {
        const std::size_t first = task * block, count = std::min(block, rows - first);
        float* columns = base + slot * stride;
        float* sum = columns + block * k;
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

// Which method `automatic` picks for this geometry (forward).
inline ConvMethod conv2d_forward_method(const ConvGeometry& g) {
    if (winograd::applies(g)) return ConvMethod::winograd;
    if (conv_detail::direct_applies(g)) return ConvMethod::direct;
    return ConvMethod::im2col;
}

// conv2d_forward by a chosen method; a method that cannot do the shape falls back to im2col.
inline void conv2d_forward_by(ConvMethod method, const ConvGeometry& g, const float* x, std::size_t batch,
                              const float* kernel, const float* bias, float* y, ActivationKind act) {
    if (batch == 0) return;
    if (method == ConvMethod::automatic) method = conv2d_forward_method(g);
    if (method == ConvMethod::winograd && !winograd::applies(g)) method = ConvMethod::im2col;
    if (method == ConvMethod::direct && !conv_detail::direct_applies(g)) method = ConvMethod::im2col;
    const bool fused = conv_detail::fuses(act);
    const bool relu = act == ActivationKind::relu;
    CpuScratch& scratch = CpuScratch::instance();
    {
        auto lock = scratch.lock();
        switch (method) {
            case ConvMethod::winograd: conv_detail::forward_winograd(g, x, batch, kernel, bias, relu, y, scratch); break;
            case ConvMethod::direct: conv_detail::forward_direct(g, x, batch, kernel, bias, relu, y); break;
            default: conv_detail::forward_im2col(g, x, batch, kernel, bias, relu, y, scratch); break;
        }
    }
    // Sigmoid and softmax outputs are rare in convolutions: bias went in above, the
    // activation is one more pass.
    if (!fused) bias_activation(y, nullptr, batch * g.out_pixels(), g.filters, act);
}

inline void conv2d_forward(const ConvGeometry& g, const float* x, std::size_t batch, const float* kernel,
                           const float* bias, float* y, ActivationKind act, Buffer<cpu>& /*workspace*/) {
    conv2d_forward_by(ConvMethod::automatic, g, x, batch, kernel, bias, y, act);
}

// conv2d_backward with the input gradient by a chosen method (winograd or im2col).
inline void conv2d_backward_by(ConvMethod method, const ConvGeometry& g, const float* x, std::size_t batch,
                               const float* kernel, const float* dz, float* dx, float* dkernel, float* dbias) {
    const std::size_t rows = batch * g.out_pixels();
    if (dbias != nullptr) column_sums(dz, rows, g.filters, dbias);
    if (batch == 0) {
        if (dkernel != nullptr) std::fill(dkernel, dkernel + g.patch_size() * g.filters, 0.0f);
        return;
    }
    if (method == ConvMethod::automatic || (method == ConvMethod::winograd && !winograd::applies(g)))
        method = winograd::applies(g) ? ConvMethod::winograd : ConvMethod::im2col;
    CpuScratch& scratch = CpuScratch::instance();
    auto lock = scratch.lock();
    if (dkernel != nullptr) {
        if (method == ConvMethod::winograd)
            winograd::kernel_gradient(g, x, batch, dz, dkernel, scratch);
        else
            conv_detail::backward_kernel_im2col(g, x, batch, dz, dkernel, scratch);
    }
    if (dx == nullptr) return;
    if (g.is_pointwise())
        gemm(false, true, rows, g.patch_size(), g.filters, 1.0f, dz, g.filters, kernel, g.filters, 0.0f, dx,
             g.patch_size());
    else if (method == ConvMethod::winograd)
        conv_detail::backward_data_winograd(g, dz, batch, kernel, dx, scratch);
    else
        conv_detail::backward_data_im2col(g, dz, batch, kernel, dx, scratch);
}

inline void conv2d_backward(const ConvGeometry& g, const float* x, std::size_t batch, const float* kernel,
                            const float* dz, float* dx, float* dkernel, float* dbias, Buffer<cpu>& /*workspace*/) {
    conv2d_backward_by(ConvMethod::automatic, g, x, batch, kernel, dz, dx, dkernel, dbias);
}

}  // namespace typenet::cpu_kernels
