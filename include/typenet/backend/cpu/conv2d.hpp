// typenet/backend/cpu/conv2d.hpp
// Convolution as im2col + SGEMM. Images are gathered into patch rows a chunk at a
// time (a chunk holds as many whole images as fit the workspace budget), so GEMMs
// are large but the workspace stays bounded.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "typenet/backend/cpu/blas.hpp"
#include "typenet/backend/cpu/elementwise.hpp"
#include "typenet/backend/cpu/parallel.hpp"
#include "typenet/backend/kernels.hpp"
#include "typenet/core/buffer.hpp"

namespace typenet::cpu_kernels {

// Workspace budget for im2col patches, in floats (64 MiB). At least one image always fits.
inline constexpr std::size_t im2col_budget = std::size_t{16} << 20;

// Patch rows of one image: row (oy, ox) holds the (kh, kw, cin) window, zeros where
// the window hangs over the padding. Matches the Keras kernel layout (kh, kw, cin, cout).
inline void im2col(const ConvGeometry& g, const float* image, float* columns) {
    const std::size_t row_len = g.patch_size();
    const std::size_t span = g.kernel_w * g.in_c;
    for (std::size_t oy = 0; oy < g.out_h; ++oy) {
        for (std::size_t ox = 0; ox < g.out_w; ++ox) {
            float* row = columns + (oy * g.out_w + ox) * row_len;
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
}

// The adjoint of im2col: adds every patch-row gradient back into the image gradient.
inline void col2im_add(const ConvGeometry& g, const float* columns, float* image) {
    const std::size_t row_len = g.patch_size();
    for (std::size_t oy = 0; oy < g.out_h; ++oy) {
        for (std::size_t ox = 0; ox < g.out_w; ++ox) {
            const float* row = columns + (oy * g.out_w + ox) * row_len;
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
}

// Images per im2col chunk for this geometry and batch.
inline std::size_t images_per_chunk(const ConvGeometry& g, std::size_t batch) {
    const std::size_t per_image = g.out_pixels() * g.patch_size();
    return std::clamp<std::size_t>(im2col_budget / std::max<std::size_t>(per_image, 1), 1, std::max<std::size_t>(batch, 1));
}

inline void conv2d_forward(const ConvGeometry& g, const float* x, std::size_t batch, const float* kernel,
                           const float* bias, float* y, ActivationKind act, Buffer<cpu>& workspace) {
    const std::size_t k = g.patch_size();
    if (g.is_pointwise()) {  // a 1x1 convolution is a plain matrix product
        gemm(false, false, batch * g.out_pixels(), g.filters, k, 1.0f, x, k, kernel, g.filters, 0.0f, y, g.filters);
    } else {
        const std::size_t chunk = images_per_chunk(g, batch);
        workspace.ensure(chunk * g.out_pixels() * k);
        for (std::size_t first = 0; first < batch; first += chunk) {
            const std::size_t count = std::min(chunk, batch - first);
            float* columns = workspace.data();
            parallel_for(count, [&](std::size_t i) {
                im2col(g, x + (first + i) * g.in_size(), columns + i * g.out_pixels() * k);
            }, g.out_pixels() * k);
            gemm(false, false, count * g.out_pixels(), g.filters, k, 1.0f, columns, k, kernel, g.filters, 0.0f,
                 y + first * g.out_size(), g.filters);
        }
    }
    bias_activation(y, bias, batch * g.out_pixels(), g.filters, act);
}

inline void conv2d_backward(const ConvGeometry& g, const float* x, std::size_t batch, const float* kernel,
                            const float* dz, float* dx, float* dkernel, float* dbias, Buffer<cpu>& workspace) {
    const std::size_t k = g.patch_size();
    const std::size_t rows = batch * g.out_pixels();
    if (dbias != nullptr) column_sums(dz, rows, g.filters, dbias);
    if (g.is_pointwise()) {
        if (dkernel != nullptr) gemm(true, false, k, g.filters, rows, 1.0f, x, k, dz, g.filters, 0.0f, dkernel, g.filters);
        if (dx != nullptr) gemm(false, true, rows, k, g.filters, 1.0f, dz, g.filters, kernel, g.filters, 0.0f, dx, k);
        return;
    }
    if (dkernel == nullptr && dx == nullptr) return;
    const std::size_t chunk = images_per_chunk(g, batch);
    workspace.ensure(chunk * g.out_pixels() * k);
    float* columns = workspace.data();
    for (std::size_t first = 0; first < batch; first += chunk) {
        const std::size_t count = std::min(chunk, batch - first);
        const std::size_t chunk_rows = count * g.out_pixels();
        const float* dz_chunk = dz + first * g.out_size();
        if (dkernel != nullptr) {
            parallel_for(count, [&](std::size_t i) {
                im2col(g, x + (first + i) * g.in_size(), columns + i * g.out_pixels() * k);
            }, g.out_pixels() * k);
            // dK += columns^T * dz, accumulated over chunks.
            gemm(true, false, k, g.filters, chunk_rows, 1.0f, columns, k, dz_chunk, g.filters,
                 first == 0 ? 0.0f : 1.0f, dkernel, g.filters);
        }
        if (dx != nullptr) {
            // dcolumns = dz * K^T, then scattered back onto the image.
            gemm(false, true, chunk_rows, k, g.filters, 1.0f, dz_chunk, g.filters, kernel, g.filters, 0.0f, columns, k);
            parallel_for(count, [&](std::size_t i) {
                float* image = dx + (first + i) * g.in_size();
                std::memset(image, 0, g.in_size() * sizeof(float));
                col2im_add(g, columns + i * g.out_pixels() * k, image);
            }, g.out_pixels() * k);
        }
    }
}

}  // namespace typenet::cpu_kernels
