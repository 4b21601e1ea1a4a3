// typenet/backend/cuda/conv2d.cuh
// Convolution on the GPU as the CPU does it (backend/cpu/conv2d.hpp): im2col patch
// rows for as many whole images as fit a workspace budget, one cuBLAS SGEMM over all of
// them, then bias and activation in one pass. Backward: dK = columns^T dz, dcolumns =
// dz K^T, and col2im, which *gathers* each input pixel's gradient from the patch rows
// that saw it (no atomics: deterministic, and each pixel written once).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

#include "typenet/backend/cuda/blas.cuh"
#include "typenet/backend/cuda/buffer.cuh"
#include "typenet/backend/cuda/check.cuh"
#include "typenet/backend/cuda/context.cuh"
#include "typenet/backend/cuda/elementwise.cuh"
#include "typenet/backend/cuda/launch.cuh"
#include "typenet/backend/kernels.hpp"

namespace typenet::cuda_kernels {

namespace detail {

// A convolution's geometry in 32 bits, with the divisions the index math needs.
struct ConvIndex {
    FastDivmod patch;      // kernel_h * kernel_w * in_c: a patch row's length
    FastDivmod channels;   // in_c
    FastDivmod kernel_w;
    FastDivmod pixels;     // out_h * out_w
    FastDivmod out_w;
    FastDivmod in_w;
    FastDivmod in_h;
    std::uint32_t kernel_h, kw, in_c, height, width, stride_h, stride_w, pad_top, pad_left, out_h, out_cols;

    explicit ConvIndex(const ConvGeometry& g)
        : patch(g.patch_size()), channels(g.in_c), kernel_w(g.kernel_w), pixels(g.out_pixels()), out_w(g.out_w),
          in_w(g.in_w), in_h(g.in_h), kernel_h(static_cast<std::uint32_t>(g.kernel_h)),
          kw(static_cast<std::uint32_t>(g.kernel_w)), in_c(static_cast<std::uint32_t>(g.in_c)),
          height(static_cast<std::uint32_t>(g.in_h)), width(static_cast<std::uint32_t>(g.in_w)),
          stride_h(static_cast<std::uint32_t>(g.stride_h)), stride_w(static_cast<std::uint32_t>(g.stride_w)),
          pad_top(static_cast<std::uint32_t>(g.pad_top)), pad_left(static_cast<std::uint32_t>(g.pad_left)),
          out_h(static_cast<std::uint32_t>(g.out_h)), out_cols(static_cast<std::uint32_t>(g.out_w)) {}
};

// columns[(n, oy, ox), (ky, kx, c)] = x[n, oy*sh + ky - pt, ox*sw + kx - pl, c], 0 in the padding.
// Consecutive threads take consecutive channels: reads and writes are coalesced.
template <class T = float>
__global__ void im2col_kernel(const T* x, T* columns, std::uint32_t count, ConvIndex g) {
    for (std::uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < count; i += gridDim.x * blockDim.x) {
        std::uint32_t col, c, kx, p, ox;
        const std::uint32_t row = g.patch.divmod(i, col);
        const std::uint32_t kk = g.channels.divmod(col, c);
        const std::uint32_t ky = g.kernel_w.divmod(kk, kx);
        const std::uint32_t n = g.pixels.divmod(row, p);
        const std::uint32_t oy = g.out_w.divmod(p, ox);
        const int iy = static_cast<int>(oy * g.stride_h + ky) - static_cast<int>(g.pad_top);
        const int ix = static_cast<int>(ox * g.stride_w + kx) - static_cast<int>(g.pad_left);
        T value = 0;
        if (iy >= 0 && iy < static_cast<int>(g.height) && ix >= 0 && ix < static_cast<int>(g.width))
            value = x[((static_cast<std::size_t>(n) * g.height + iy) * g.width + ix) * g.in_c + c];
        columns[i] = value;
    }
}

// The output position o with o * stride == t (t = input position + padding - kernel
// offset), if there is one inside [0, limit). Stride 1, the usual case, needs no division.
__device__ __forceinline__ bool output_of(int t, std::uint32_t stride, std::uint32_t limit, std::uint32_t& o) {
    if (t < 0) return false;
    if (stride == 1) {
        o = static_cast<std::uint32_t>(t);
    } else {
        if (static_cast<std::uint32_t>(t) % stride != 0) return false;
        o = static_cast<std::uint32_t>(t) / stride;
    }
    return o < limit;
}

// dx[n, iy, ix, c] = sum of the patch-row entries that read x[n, iy, ix, c] (overwrites).
template <class T = float>
__global__ void col2im_kernel(const T* columns, T* dx, std::uint32_t count, ConvIndex g) {
    for (std::uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < count; i += gridDim.x * blockDim.x) {
        std::uint32_t c, ix, iy;
        const std::uint32_t pixel = g.channels.divmod(i, c);
        const std::uint32_t rest = g.in_w.divmod(pixel, ix);
        const std::uint32_t n = g.in_h.divmod(rest, iy);
        const std::size_t image_row = static_cast<std::size_t>(n) * g.out_h * g.out_cols;
        float sum = 0.0f;
        for (std::uint32_t ky = 0; ky < g.kernel_h; ++ky) {
            std::uint32_t oy;
            if (!output_of(static_cast<int>(iy + g.pad_top) - static_cast<int>(ky), g.stride_h, g.out_h, oy)) continue;
            for (std::uint32_t kx = 0; kx < g.kw; ++kx) {
                std::uint32_t ox;
                if (!output_of(static_cast<int>(ix + g.pad_left) - static_cast<int>(kx), g.stride_w, g.out_cols, ox))
                    continue;
                const std::size_t row = image_row + static_cast<std::size_t>(oy) * g.out_cols + ox;
                sum += columns[row * g.patch.divisor + (ky * g.kw + kx) * g.in_c + c];
            }
        }
        dx[i] = sum;
    }
}

inline void im2col(const ConvGeometry& g, const float* x, std::size_t images, float* columns) {
    const std::size_t count = images * g.out_pixels() * g.patch_size();
    if (count == 0) return;
    im2col_kernel<<<blocks_for(count), threads_per_block, 0, cuda_context().stream()>>>(
        x, columns, static_cast<std::uint32_t>(count), ConvIndex(g));
    check_launch("conv2d im2col");
}

inline void col2im(const ConvGeometry& g, const float* columns, std::size_t images, float* dx) {
    const std::size_t count = images * g.in_size();
    if (count == 0) return;
    require_32_bits(count, "conv2d col2im");
    col2im_kernel<<<blocks_for(count), threads_per_block, 0, cuda_context().stream()>>>(
        columns, dx, static_cast<std::uint32_t>(count), ConvIndex(g));
    check_launch("conv2d col2im");
}

}  // namespace detail

// Images per im2col chunk for this geometry and batch (CudaContext::im2col_budget).
inline std::size_t images_per_chunk(const ConvGeometry& g, std::size_t batch) {
    const std::size_t per_image = g.out_pixels() * g.patch_size();
    require_32_bits(per_image, "conv2d im2col of one image");
    return std::clamp<std::size_t>(cuda_context().im2col_budget() / std::max<std::size_t>(per_image, 1), 1,
                                   std::max<std::size_t>(batch, 1));
}

inline void conv2d_forward(const ConvGeometry& g, const float* x, std::size_t batch, const float* kernel,
                           const float* bias, float* y, ActivationKind act, Buffer<cuda>& workspace) {
    const std::size_t k = g.patch_size();
    if (g.is_pointwise()) {  // a 1x1 convolution is a plain matrix product
        gemm(false, false, batch * g.out_pixels(), g.filters, k, 1.0f, x, k, kernel, g.filters, 0.0f, y, g.filters);
    } else {
        const std::size_t chunk = images_per_chunk(g, batch);
        workspace.ensure(chunk * g.out_pixels() * k);
        for (std::size_t first = 0; first < batch; first += chunk) {
            const std::size_t count = std::min(chunk, batch - first);
            detail::im2col(g, x + first * g.in_size(), count, workspace.data());
            gemm(false, false, count * g.out_pixels(), g.filters, k, 1.0f, workspace.data(), k, kernel, g.filters, 0.0f,
                 y + first * g.out_size(), g.filters);
        }
    }
    bias_activation(y, bias, batch * g.out_pixels(), g.filters, act);
}

inline void conv2d_backward(const ConvGeometry& g, const float* x, std::size_t batch, const float* kernel,
                            const float* dz, float* dx, float* dkernel, float* dbias, Buffer<cuda>& workspace) {
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
            detail::im2col(g, x + first * g.in_size(), count, columns);
            // dK += columns^T * dz, accumulated over chunks.
            gemm(true, false, k, g.filters, chunk_rows, 1.0f, columns, k, dz_chunk, g.filters,
                 first == 0 ? 0.0f : 1.0f, dkernel, g.filters);
        }
        if (dx != nullptr) {
            // dcolumns = dz * K^T, then gathered back onto the images.
            gemm(false, true, chunk_rows, k, g.filters, 1.0f, dz_chunk, g.filters, kernel, g.filters, 0.0f, columns, k);
            detail::col2im(g, columns, count, dx + first * g.in_size());
        }
    }
}

}  // namespace typenet::cuda_kernels
