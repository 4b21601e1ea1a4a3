// typenet/backend/cpu/winograd.hpp
// 3x3 stride-1 convolution by Winograd's minimal filtering F(4x4, 3x3) (Lavin & Gray,
// "Fast Algorithms for Convolutional Neural Networks", 2016): each 4x4 block of output
// pixels comes from a 6x6 input window with 36 multiplies per (input, output) channel
// pair instead of 144, so the GEMM work is a quarter of im2col's.
//
//   U[xi][c][k] = (G g G^T)[xi]      the kernel, transformed once per call
//   V[t][xi][c] = (B^T d B)[xi]      input window of tile t (a tile's 36 points together)
//   M[.][xi][.] = V[.][xi][.] * U[xi] 36 GEMMs (tiles x C) * (C x K), rows 36 C apart
//   Y           = A^T M A            4x4 output pixels per tile, then bias and ReLU
//
// Tiles are processed in blocks, one block per task, on the pool's threads; a block's
// V and M stay in that thread's scratch, so memory is bounded whatever the batch.
// Input windows that hang over the image edge read zeros: 'same' padding needs no
// padded copy, and the same code computes the input gradient of a convolution as a
// convolution of dL/dz with the flipped kernel (transform_flipped_kernel).
//
// The kernel gradient uses the same 6x6 points as F(3x3, 4x4): a tile's 4x4 block of
// dL/dz acts as the filter over the tile's 6x6 input window and yields a 3x3 kernel
// contribution. The sum over tiles and images happens in the transformed domain,
//   S[xi] = sum over tiles of V[xi]^T * Z[xi],  Z = G' dz G'^T,  dW = A'^T S A',
// so the GEMMs run over tiles (C x tiles) * (tiles x K), 36 per block, and only one
// output transform per (c, k) is left at the end.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "typenet/backend/cpu/blas.hpp"
#include "typenet/backend/cpu/elementwise.hpp"
#include "typenet/backend/cpu/parallel.hpp"
#include "typenet/backend/cpu/scratch.hpp"
#include "typenet/backend/cpu/simd.hpp"
#include "typenet/backend/kernels.hpp"

namespace typenet::cpu_kernels::winograd {

inline constexpr std::size_t tile = 4;     // output pixels per tile side
inline constexpr std::size_t window = 6;   // input pixels per tile side
inline constexpr std::size_t points = 36;  // window * window

// Whether F(4x4, 3x3) computes this convolution, and pays: with few channels the
// transforms cost more than the multiplies they save (the first layer, C = 3).
inline bool applies(const ConvGeometry& g) {
    return g.kernel_h == 3 && g.kernel_w == 3 && g.stride_h == 1 && g.stride_w == 1 && g.in_c >= 8 &&
           g.filters >= 8;
}

namespace detail {

using simd::vfloat;

// The kernel transform G g G^T of one 3x3 kernel slice (16 output channels at a time).
// g: 9 vectors [ky*3+kx]; u: 36 vectors [i*6+j].
TYPENET_SIMD_INLINE void transform_kernel_tile(const vfloat* g, vfloat* u) {
    vfloat t[6][3];
    for (std::size_t kx = 0; kx < 3; ++kx) {  // t = G g, column by column
        const vfloat g0 = g[kx], g1 = g[3 + kx], g2 = g[6 + kx];
        t[0][kx] = g0 * 0.25f;
        t[1][kx] = (g0 + g1 + g2) * (-1.0f / 6.0f);
        t[2][kx] = (g0 - g1 + g2) * (-1.0f / 6.0f);
        t[3][kx] = g0 * (1.0f / 24.0f) + g1 * (1.0f / 12.0f) + g2 * (1.0f / 6.0f);
        t[4][kx] = g0 * (1.0f / 24.0f) - g1 * (1.0f / 12.0f) + g2 * (1.0f / 6.0f);
        t[5][kx] = g2;
    }
    for (std::size_t i = 0; i < 6; ++i) {  // u = t G^T, row by row
        const vfloat g0 = t[i][0], g1 = t[i][1], g2 = t[i][2];
        vfloat* row = u + i * 6;
        row[0] = g0 * 0.25f;
        row[1] = (g0 + g1 + g2) * (-1.0f / 6.0f);
        row[2] = (g0 - g1 + g2) * (-1.0f / 6.0f);
        row[3] = g0 * (1.0f / 24.0f) + g1 * (1.0f / 12.0f) + g2 * (1.0f / 6.0f);
        row[4] = g0 * (1.0f / 24.0f) - g1 * (1.0f / 12.0f) + g2 * (1.0f / 6.0f);
        row[5] = g2;
    }
}

// B^T applied to six values d[0], d[s], ..., d[5s], written to r[0], r[rs], ..., r[5rs].
TYPENET_SIMD_INLINE void input_transform_6(const vfloat* d, std::size_t s, vfloat* r, std::size_t rs) {
    const vfloat d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s], d4 = d[4 * s], d5 = d[5 * s];
    r[0] = d0 * 4.0f - d2 * 5.0f + d4;
    r[rs] = (d3 + d4) - (d1 + d2) * 4.0f;
    r[2 * rs] = (d4 - d3) + (d1 - d2) * 4.0f;
    r[3 * rs] = (d4 - d2) + (d3 - d1) * 2.0f;
    r[4 * rs] = (d4 - d2) - (d3 - d1) * 2.0f;
    r[5 * rs] = d1 * 4.0f - d3 * 5.0f + d5;
}

// A^T applied to six values m[0], m[s], ..., m[5s], written to o[0], o[os], ..., o[3os].
TYPENET_SIMD_INLINE void output_transform_6(const vfloat* m, std::size_t s, vfloat* o, std::size_t os) {
    const vfloat m0 = m[0], m1 = m[s], m2 = m[2 * s], m3 = m[3 * s], m4 = m[4 * s], m5 = m[5 * s];
    const vfloat sum12 = m1 + m2, diff12 = m1 - m2, sum34 = m3 + m4, diff34 = m3 - m4;
    o[0] = m0 + sum12 + sum34;
    o[os] = diff12 + diff34 * 2.0f;
    o[2 * os] = sum12 + sum34 * 4.0f;
    o[3 * os] = diff12 + diff34 * 8.0f + m5;
}

// G' applied to four values z[0], z[s], z[2s], z[3s] (a 4-point "filter" on the same six
// points), written to r[0], r[rs], ..., r[5rs]. G' = D V: V the 6 x 4 Vandermonde rows of
// the points 0, 1, -1, 2, -2, infinity, D the scaling G of F(4x4, 3x3) carries.
TYPENET_SIMD_INLINE void gradient_transform_4(const vfloat* z, std::size_t s, vfloat* r, std::size_t rs) {
    const vfloat z0 = z[0], z1 = z[s], z2 = z[2 * s], z3 = z[3 * s];
    const vfloat even = z0 + z2, odd = z1 + z3, even4 = z0 + z2 * 4.0f, odd4 = z1 * 2.0f + z3 * 8.0f;
    r[0] = z0 * 0.25f;
    r[rs] = (even + odd) * (-1.0f / 6.0f);
    r[2 * rs] = (even - odd) * (-1.0f / 6.0f);
    r[3 * rs] = (even4 + odd4) * (1.0f / 24.0f);
    r[4 * rs] = (even4 - odd4) * (1.0f / 24.0f);
    r[5 * rs] = z3;
}

// A'^T of F(3x3, 4x4) applied to six values: three kernel taps.
TYPENET_SIMD_INLINE void kernel_output_transform_6(const vfloat* m, std::size_t s, vfloat* o, std::size_t os) {
    const vfloat m0 = m[0], m1 = m[s], m2 = m[2 * s], m3 = m[3 * s], m4 = m[4 * s], m5 = m[5 * s];
    const vfloat sum12 = m1 + m2, sum34 = m3 + m4;
    o[0] = m0 + sum12 + sum34;
    o[os] = (m1 - m2) + (m3 - m4) * 2.0f;
    o[2 * os] = sum12 + sum34 * 4.0f + m5;
}

// Where tile t of the batch lies.
struct TilePlace {
    std::size_t image;
    std::ptrdiff_t y0, x0;  // top-left input pixel of its window (may be negative)
    std::size_t oy0, ox0;   // top-left output pixel
};

inline TilePlace place_of(const ConvGeometry& g, std::size_t tiles_h, std::size_t tiles_w, std::size_t t) {
    const std::size_t per_image = tiles_h * tiles_w;
    const std::size_t image = t / per_image, r = t % per_image;
    const std::size_t oy0 = r / tiles_w * tile, ox0 = r % tiles_w * tile;
    return {image, static_cast<std::ptrdiff_t>(oy0) - static_cast<std::ptrdiff_t>(g.pad_top),
            static_cast<std::ptrdiff_t>(ox0) - static_cast<std::ptrdiff_t>(g.pad_left), oy0, ox0};
}

// What a block of tiles needs to know.
struct TileJob {
    ConvGeometry g;
    const float* x;
    const float* U;
    const float* bias;
    bool relu;
    float* y;
    std::size_t tiles_h, tiles_w, tiles;
    std::size_t block;  // tiles per block (V and M are laid out for this many)
};

// V[xi][b][c] for the tiles [t0, t0 + count) of the batch.
inline void transform_inputs(const TileJob& job, std::size_t t0, std::size_t count, float* V) {
    const ConvGeometry& g = job.g;
    const std::size_t C = g.in_c;
    simd::run([&]() TYPENET_SIMD {
        vfloat d[36], r[36];
        for (std::size_t b = 0; b < count; ++b) {
            const TilePlace p = place_of(g, job.tiles_h, job.tiles_w, t0 + b);
            const float* image = job.x + p.image * g.in_size();
            bool row_in[6], col_in[6];
            bool whole = true;
            for (std::size_t i = 0; i < 6; ++i) {
                const std::ptrdiff_t iy = p.y0 + static_cast<std::ptrdiff_t>(i);
                const std::ptrdiff_t ix = p.x0 + static_cast<std::ptrdiff_t>(i);
                row_in[i] = iy >= 0 && iy < static_cast<std::ptrdiff_t>(g.in_h);
                col_in[i] = ix >= 0 && ix < static_cast<std::ptrdiff_t>(g.in_w);
                whole = whole && row_in[i] && col_in[i];
            }
            for (std::size_t c = 0; c < C; c += simd::lanes) {
                const std::size_t width = std::min(simd::lanes, C - c);
                if (whole && width == simd::lanes) {
                    const float* at = image + (static_cast<std::size_t>(p.y0) * g.in_w + static_cast<std::size_t>(p.x0)) * C + c;
                    for (std::size_t i = 0; i < 6; ++i)
                        for (std::size_t j = 0; j < 6; ++j) simd::load(d[i * 6 + j], at + (i * g.in_w + j) * C);
                } else {
                    for (std::size_t i = 0; i < 6; ++i)
                        for (std::size_t j = 0; j < 6; ++j) {
                            if (!row_in[i] || !col_in[j]) {
                                d[i * 6 + j] = vfloat{};
                                continue;
                            }
                            const float* at = image +
                                              (static_cast<std::size_t>(p.y0 + static_cast<std::ptrdiff_t>(i)) * g.in_w +
                                               static_cast<std::size_t>(p.x0 + static_cast<std::ptrdiff_t>(j))) * C + c;
                            simd::load_n(d[i * 6 + j], at, width);
                        }
                }
                for (std::size_t j = 0; j < 6; ++j) input_transform_6(d + j, 6, r + j, 6);  // B^T d
                for (std::size_t i = 0; i < 6; ++i) input_transform_6(r + i * 6, 1, d + i * 6, 1);  // (B^T d) B
                float* out = V + b * points * C + c;  // a tile's 36 points together
                for (std::size_t xi = 0; xi < points; ++xi) simd::store_n(out + xi * C, d[xi], width);
            }
        }
    });
}

// Y = A^T M A for the tiles [t0, t0 + count), plus bias and (optionally) ReLU, into y.
inline void transform_outputs(const TileJob& job, std::size_t t0, std::size_t count, const float* M) {
    const ConvGeometry& g = job.g;
    const std::size_t K = g.filters;
    simd::run([&]() TYPENET_SIMD {
        vfloat m[36], s[24], o[16];
        for (std::size_t b = 0; b < count; ++b) {
            const TilePlace p = place_of(g, job.tiles_h, job.tiles_w, t0 + b);
            const std::size_t rows = std::min(tile, g.out_h - p.oy0), cols = std::min(tile, g.out_w - p.ox0);
            float* image = job.y + p.image * g.out_size();
            for (std::size_t k = 0; k < K; k += simd::lanes) {
                const std::size_t width = std::min(simd::lanes, K - k);
                const float* in = M + b * points * K + k;
                for (std::size_t xi = 0; xi < points; ++xi) simd::load_n(m[xi], in + xi * K, width);
                for (std::size_t j = 0; j < 6; ++j) output_transform_6(m + j, 6, s + j, 6);   // A^T m: 4 x 6
                for (std::size_t i = 0; i < 4; ++i) output_transform_6(s + i * 6, 1, o + i * 4, 1);  // (A^T m) A
                vfloat bias{};
                if (job.bias != nullptr) simd::load_n(bias, job.bias + k, width);
                for (std::size_t i = 0; i < rows; ++i)
                    for (std::size_t j = 0; j < cols; ++j) {
                        vfloat v = o[i * 4 + j] + bias;
                        if (job.relu) v = v < 0.0f ? vfloat{} : v;  // NaN passes, as in TensorFlow
                        float* at = image + ((p.oy0 + i) * g.out_w + p.ox0 + j) * K + k;
                        simd::store_n(at, v, width);
                    }
            }
        }
    });
}

// Z[xi][b][k] = (G' dz G'^T)[xi] for the tiles [t0, t0 + count): the 4x4 block of
// dL/dz of each tile (zeros past the output's edge), job.y holding dL/dz.
inline void transform_gradients(const TileJob& job, std::size_t t0, std::size_t count, float* Z) {
    const ConvGeometry& g = job.g;
    const std::size_t K = g.filters;
    simd::run([&]() TYPENET_SIMD {
        vfloat z[16], t[24], u[36];
        for (std::size_t b = 0; b < count; ++b) {
            const TilePlace p = place_of(g, job.tiles_h, job.tiles_w, t0 + b);
            const std::size_t rows = std::min(tile, g.out_h - p.oy0), cols = std::min(tile, g.out_w - p.ox0);
            const float* image = job.y + p.image * g.out_size();
            for (std::size_t k = 0; k < K; k += simd::lanes) {
                const std::size_t width = std::min(simd::lanes, K - k);
                for (std::size_t i = 0; i < tile; ++i)
                    for (std::size_t j = 0; j < tile; ++j) {
                        if (i < rows && j < cols)
                            simd::load_n(z[i * 4 + j], image + ((p.oy0 + i) * g.out_w + p.ox0 + j) * K + k, width);
                        else
                            z[i * 4 + j] = vfloat{};
                    }
                for (std::size_t j = 0; j < 4; ++j) gradient_transform_4(z + j, 4, t + j, 4);      // G' z: 6 x 4
                for (std::size_t i = 0; i < 6; ++i) gradient_transform_4(t + i * 4, 1, u + i * 6, 1);  // (G' z) G'^T
                float* out = Z + b * points * K + k;
                for (std::size_t xi = 0; xi < points; ++xi) simd::store_n(out + xi * K, u[xi], width);
            }
        }
    });
}

// Whether the products of a convolution with K output channels run on the register
// kernel below (AVX-512, K a multiple of 16); U is then stored in its panel layout.
inline bool register_kernel(std::size_t K) { return K % simd::lanes == 0 && simd::active_isa() == simd::Isa::avx512; }

// Where U[c][k] (k a multiple of 16) lives in the panel layout of one point: columns in
// panels of 32 (the last may be 16 wide), each panel C rows long and contiguous, so the
// register kernel streams through memory in order.
inline std::size_t panel_offset(std::size_t c, std::size_t k, std::size_t C, std::size_t K) {
    const std::size_t panel = k / 32, width = std::min<std::size_t>(32, K - panel * 32);
    return panel * 32 * C + c * width + (k - panel * 32);
}

// M[rows x K] = V[rows x C] * U for one point xi (U in the panel layout). The 36
// products of a block are small and V is already in a layout a register kernel can
// read, so nothing is copied: 12 rows x 32 columns of M are held in 24 registers while
// the C-long sums run, each U panel row loaded once feeds 24 FMAs, with V values
// broadcast straight from memory.
template <std::size_t Vectors>
TYPENET_SIMD_INLINE void multiply_rows(const float* V, std::size_t ldv, const float* panel, float* M, std::size_t ldm,
                                       std::size_t rows, std::size_t C) {
    constexpr std::size_t R = 12, width = Vectors * simd::lanes;
    const float* a[R];
    TYPENET_UNROLL(12)
    for (std::size_t r = 0; r < R; ++r) a[r] = V + std::min(r, rows - 1) * ldv;  // past `rows`: repeats, not stored
    vfloat acc[R][Vectors];
    TYPENET_UNROLL(12)
    for (std::size_t r = 0; r < R; ++r)
        TYPENET_UNROLL(2)
        for (std::size_t v = 0; v < Vectors; ++v) acc[r][v] = vfloat{};
    for (std::size_t c = 0; c < C; ++c) {
        vfloat b[Vectors];
        TYPENET_UNROLL(2)
        for (std::size_t v = 0; v < Vectors; ++v) simd::load(b[v], panel + c * width + v * simd::lanes);
        TYPENET_UNROLL(12)
        for (std::size_t r = 0; r < R; ++r)
            TYPENET_UNROLL(2)
            for (std::size_t v = 0; v < Vectors; ++v) acc[r][v] += a[r][c] * b[v];
    }
    for (std::size_t r = 0; r < rows; ++r)
        TYPENET_UNROLL(2)
        for (std::size_t v = 0; v < Vectors; ++v) simd::store(M + r * ldm + v * simd::lanes, acc[r][v]);
}

// V rows ldv floats apart, M rows ldm floats apart.
inline void multiply(const float* V, std::size_t ldv, const float* U, float* M, std::size_t ldm, std::size_t rows,
                     std::size_t C, std::size_t K) {
    simd::run([&]() TYPENET_SIMD {
        // Row groups outside: a group's 12 V rows stay in L1 while the U panels stream by.
        for (std::size_t r = 0; r < rows; r += 12) {
            const std::size_t n = std::min<std::size_t>(12, rows - r);
            std::size_t k = 0;
            for (; k + 2 * simd::lanes <= K; k += 2 * simd::lanes)
                multiply_rows<2>(V + r * ldv, ldv, U + k * C, M + r * ldm + k, ldm, n, C);
            if (k < K) multiply_rows<1>(V + r * ldv, ldv, U + k * C, M + r * ldm + k, ldm, n, C);  // last panel 16 wide
        }
    });
}

// U for kernel rows: source(c, ky, kx) points at the K floats of output channels.
// U[xi] is C x K row-major, or in the panel layout when the register kernel will use it.
template <class Source>
void transform_kernel_with(std::size_t C, std::size_t K, float* U, Source source) {
    const bool packed = register_kernel(K);
    parallel_for(C, [&](std::size_t c) {
        simd::run([&]() TYPENET_SIMD {
            vfloat g[9], u[36];
            for (std::size_t k = 0; k < K; k += simd::lanes) {
                const std::size_t width = std::min(simd::lanes, K - k);
                for (std::size_t e = 0; e < 9; ++e) simd::load_n(g[e], source(c, e / 3, e % 3) + k, width);
                transform_kernel_tile(g, u);
                const std::size_t at = packed ? panel_offset(c, k, C, K) : c * K + k;
                for (std::size_t xi = 0; xi < points; ++xi) simd::store_n(U + xi * C * K + at, u[xi], width);
            }
        });
    }, K * 200);
}

}  // namespace detail

// U[xi] (C x K, in the layout convolve() reads) from a Keras kernel (3, 3, C, K).
inline void transform_kernel(const float* kernel, std::size_t C, std::size_t K, float* U) {
    detail::transform_kernel_with(C, K, U, [&](std::size_t c, std::size_t ky, std::size_t kx) {
        return kernel + ((ky * 3 + kx) * C + c) * K;
    });
}

// U of the flipped kernel with input and output channels swapped: U[xi][k][c] from
// g'(ky, kx, k, c) = kernel(2 - ky, 2 - kx, c, k), the kernel of dL/dx = dL/dz (*) g'.
// `transposed` is scratch for 9 * C * K floats.
inline void transform_flipped_kernel(const float* kernel, std::size_t C, std::size_t K, float* U, float* transposed) {
    parallel_for(9, [&](std::size_t e) {
        const float* from = kernel + (8 - e) * C * K;  // (2 - ky, 2 - kx)
        float* to = transposed + e * K * C;
        for (std::size_t c = 0; c < C; ++c)
            for (std::size_t k = 0; k < K; ++k) to[k * C + c] = from[c * K + k];
    }, C * K);
    detail::transform_kernel_with(K, C, U, [&](std::size_t k, std::size_t ky, std::size_t kx) {
        return transposed + ((ky * 3 + kx) * K + k) * C;
    });
}

// Tiles per block, measured (one thread, VGG-16 and model A layers). With small channel
// counts (C x K up to 128 x 128) short blocks win: V and M stay in L2. With large ones
// every block streams all of U (36 C K floats, 36 MB at 512 x 512) through the caches,
// so blocks must be long to reuse it. Multiples of 12, the register kernel's rows. The
// kernel gradient (OpenBLAS GEMMs summing over the block) prefers 64 / 256. At least
// one block per thread.
inline std::size_t block_tiles(const ConvGeometry& g, std::size_t tiles, bool kernel_gradient = false) {
    const std::size_t threads = static_cast<std::size_t>(cpu_threads());
    const bool small = g.in_c * g.filters <= 128 * 128;
    const std::size_t block = kernel_gradient ? (small ? 64 : 256) : (small ? 24 : 288);
    const std::size_t balanced = (tiles + threads - 1) / threads;
    return std::max<std::size_t>(1, std::min(block, balanced));
}

// y = act(conv(x, U) + bias) for a geometry that applies(); act linear or ReLU.
// The caller holds the scratch lock; U was made by transform_kernel (or the flipped one).
inline void convolve(const ConvGeometry& g, const float* x, std::size_t batch, const float* U, const float* bias,
                     bool relu, float* y, CpuScratch& scratch) {
    detail::TileJob job{g, x, U, bias, relu, y, (g.out_h + tile - 1) / tile, (g.out_w + tile - 1) / tile, 0, 0};
    job.tiles = batch * job.tiles_h * job.tiles_w;
    job.block = block_tiles(g, job.tiles);
    const std::size_t v_size = points * job.block * g.in_c, m_size = points * job.block * g.filters;
    float* base = scratch.per_thread(v_size + m_size);
    const std::size_t stride = CpuScratch::per_thread_stride(v_size + m_size);
    const std::size_t blocks = (job.tiles + job.block - 1) / job.block;
    parallel_tasks(blocks, [&](std::size_t task, unsigned slot) {
        float* V = base + slot * stride;
        float* M = V + v_size;
        const std::size_t t0 = task * job.block, count = std::min(job.block, job.tiles - t0);
        detail::transform_inputs(job, t0, count, V);
        for (std::size_t xi = 0; xi < points; ++xi) {
            // Point xi of every tile: rows 36 C (V) and 36 K (M) floats apart.
            const std::size_t ldv = points * g.in_c, ldm = points * g.filters;
            const float* V_xi = V + xi * g.in_c;
            const float* U_xi = U + xi * g.in_c * g.filters;
            float* M_xi = M + xi * g.filters;
            if (detail::register_kernel(g.filters))
                detail::multiply(V_xi, ldv, U_xi, M_xi, ldm, count, g.in_c, g.filters);
            else
                gemm_serial(false, false, count, g.filters, g.in_c, 1.0f, V_xi, ldv, U_xi, g.filters, 0.0f, M_xi, ldm);
        }
        detail::transform_outputs(job, t0, count, M);
    });
}

// dkernel (3, 3, C, K) = sum over the batch of x (*) dz for a geometry that applies().
// Each part of the tiles is summed into its own S; the copies are added in order, then
// transformed.
inline void kernel_gradient(const ConvGeometry& g, const float* x, std::size_t batch, const float* dz, float* dkernel,
                            CpuScratch& scratch) {
    const std::size_t C = g.in_c, K = g.filters;
    detail::TileJob job{g, x, nullptr, nullptr, false, const_cast<float*>(dz), (g.out_h + tile - 1) / tile,
                        (g.out_w + tile - 1) / tile, 0, 0};
    job.tiles = batch * job.tiles_h * job.tiles_w;
    job.block = block_tiles(g, job.tiles, true);
    const std::size_t v_size = points * job.block * C, z_size = points * job.block * K, s_size = points * C * K;
    const std::size_t threads = static_cast<std::size_t>(cpu_threads());
    const std::size_t stride = CpuScratch::per_thread_stride(v_size + z_size + s_size);
    float* base = scratch.per_thread(v_size + z_size + s_size);
    parallel_tasks(threads, [&](std::size_t t, unsigned) {
        std::memset(base + t * stride + v_size + z_size, 0, s_size * sizeof(float));
    });
    const std::size_t blocks = (job.tiles + job.block - 1) / job.block;
    // One S per part, parts added in order below: the same bits on every run.
    parallel_runs(blocks, threads, [&](std::size_t task, std::size_t part, unsigned slot) {
        float* V = base + slot * stride;
        float* Z = V + v_size;
        float* S = base + part * stride + v_size + z_size;
        const std::size_t t0 = task * job.block, count = std::min(job.block, job.tiles - t0);
        detail::transform_inputs(job, t0, count, V);
        detail::transform_gradients(job, t0, count, Z);
        for (std::size_t xi = 0; xi < points; ++xi)
            gemm_serial(true, false, C, K, count, 1.0f, V + xi * C, points * C, Z + xi * K, points * K, 1.0f,
                        S + xi * C * K, K);
    });
    // Add the threads' sums into the first, then dW = A'^T S A' per (c, k).
    float* S = base + v_size + z_size;
    if (threads > 1)
        parallel_for(s_size, [&](std::size_t i) {
            float total = S[i];
            for (std::size_t t = 1; t < threads; ++t) total += S[t * stride + i];
            S[i] = total;
        }, 2 * threads);
    parallel_for(C, [&](std::size_t c) {
        simd::run([&]() TYPENET_SIMD {
            detail::vfloat m[36], r[18], w[9];
            for (std::size_t k = 0; k < K; k += simd::lanes) {
                const std::size_t width = std::min(simd::lanes, K - k);
                for (std::size_t xi = 0; xi < points; ++xi) simd::load_n(m[xi], S + (xi * C + c) * K + k, width);
                for (std::size_t j = 0; j < 6; ++j) detail::kernel_output_transform_6(m + j, 6, r + j, 6);      // 3 x 6
                for (std::size_t i = 0; i < 3; ++i) detail::kernel_output_transform_6(r + i * 6, 1, w + i * 3, 1);  // 3 x 3
                for (std::size_t e = 0; e < 9; ++e) simd::store_n(dkernel + (e * C + c) * K + k, w[e], width);
            }
        });
    }, K * 300);
}

// Floats of shared scratch the transformed kernel needs.
inline std::size_t kernel_floats(const ConvGeometry& g) { return points * g.in_c * g.filters; }

}  // namespace typenet::cpu_kernels::winograd
