// typenet/backend/cpu/winograd.hpp
// 3x3 stride-1 convolution by Winograd's minimal filtering (Lavin & Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2016), in two sizes:
//   F(2x2, 3x3)  points 0, 1, -1, infinity: each 2x2 block of outputs from a 4x4 input
//                window, 16 multiplies per (input, output) channel pair instead of 36
//                (2.25x fewer than im2col). Its transforms have coefficients 0, +-1 and
//                1/2: with the chunked sums below its rounding error is 0.45-1.22x
//                im2col's (docs/training.md).
//   F(4x4, 3x3)  points 0, +-1, +-2, infinity: each 4x4 block from a 6x6 window, 36
//                multiplies instead of 144 (4x fewer), but the transforms' 4, 5 and 8
//                amplify rounding: 2-8x im2col's error against float64 (4-14x before
//                its channel sums were chunked).
// `Tile` below is the output block side (2 or 4); window = Tile + 2, points = window^2.
//
//   U[xi][c][k] = (G g G^T)[xi]      the kernel, transformed once per call
//   V[t][xi][c] = (B^T d B)[xi]      input window of tile t (a tile's points together)
//   M[.][xi][.] = V[.][xi][.] * U[xi] one GEMM per point: (tiles x C) * (C x K)
//   Y           = A^T M A            output pixels per tile, then bias and ReLU
//
// The sums over C in M dominate the rounding error (they run over C terms of the size
// of the transformed values), so the register kernel adds them in chunks of 32
// channels, each chunk's partial sum added to M: a two-level sum, whose error stays
// near one chunk's instead of growing with C.
//
// Tiles are processed in blocks, one block per task, on the pool's threads; a block's
// V and M stay in that thread's scratch, so memory is bounded whatever the batch.
// Input windows that hang over the image edge read zeros: 'same' padding needs no
// padded copy, and the same code computes the input gradient of a convolution as a
// convolution of dL/dz with the flipped kernel (transform_flipped_kernel).
//
// The kernel gradient uses the same points as F(3x3, Tile x Tile): a tile's block of
// dL/dz acts as the filter over the tile's input window and yields a 3x3 kernel
// contribution. The sum over tiles and images happens in the transformed domain,
//   S[xi] = sum over tiles of V[xi]^T * Z[xi],  Z = G' dz G'^T,  dW = A'^T S A',
// so the GEMMs run over tiles (C x tiles) * (tiles x K), one per point and block, and
// only one output transform per (c, k) is left at the end.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "typenet/backend/cpu/blas.hpp"
#include "typenet/backend/cpu/elementwise.hpp"
#include "typenet/backend/cpu/parallel.hpp"
#include "typenet/backend/cpu/relu_clamp.hpp"
#include "typenet/backend/cpu/scratch.hpp"
#include "typenet/backend/cpu/simd.hpp"
#include "typenet/backend/kernels.hpp"

namespace typenet::cpu_kernels::winograd {

// The sizes of F(Tile x Tile, 3x3).
template <std::size_t Tile>
struct Size {
    static_assert(Tile == 2 || Tile == 4, "winograd: only F(2x2, 3x3) and F(4x4, 3x3) are implemented");
    static constexpr std::size_t tile = Tile;            // output pixels per tile side
    static constexpr std::size_t window = Tile + 2;      // input pixels per tile side
    static constexpr std::size_t points = window * window;
};

// Whether Winograd computes this convolution, and pays: with few channels the
// transforms cost more than the multiplies they save (the first layer, C = 3).
inline bool applies(const ConvGeometry& g) {
    return g.kernel_h == 3 && g.kernel_w == 3 && g.stride_h == 1 && g.stride_w == 1 && g.in_c >= 8 &&
           g.filters >= 8;
}

namespace detail {

using simd::vfloat;

// F(4x4, 3x3) on the points 0, 1, -1, 2, -2, infinity.

// G applied to three values g[0], g[s], g[2s], written to r[0], r[rs], ..., r[5rs].
TYPENET_SIMD_INLINE void kernel_transform_f4(const vfloat* g, std::size_t s, vfloat* r, std::size_t rs) {
    const vfloat g0 = g[0], g1 = g[s], g2 = g[2 * s];
    r[0] = g0 * 0.25f;
    r[rs] = (g0 + g1 + g2) * (-1.0f / 6.0f);
    r[2 * rs] = (g0 - g1 + g2) * (-1.0f / 6.0f);
    r[3 * rs] = g0 * (1.0f / 24.0f) + g1 * (1.0f / 12.0f) + g2 * (1.0f / 6.0f);
    r[4 * rs] = g0 * (1.0f / 24.0f) - g1 * (1.0f / 12.0f) + g2 * (1.0f / 6.0f);
    r[5 * rs] = g2;
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

// A'^T of F(3x3, 4x4) applied to six values: three kernel taps (in double, see below).
template <class T>
TYPENET_SIMD_INLINE void kernel_output_transform_6(const T* m, std::size_t s, T* o, std::size_t os) {
    const T m0 = m[0], m1 = m[s], m2 = m[2 * s], m3 = m[3 * s], m4 = m[4 * s], m5 = m[5 * s];
    const T sum12 = m1 + m2, sum34 = m3 + m4;
    o[0] = m0 + sum12 + sum34;
    o[os] = (m1 - m2) + (m3 - m4) * 2.0f;
    o[2 * os] = sum12 + sum34 * 4.0f + m5;
}

// F(2x2, 3x3) on the points 0, 1, -1, infinity: G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2;
// 0 0 1], B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 -1 0 1], A^T = [1 1 1 0; 0 1 -1 1]. Every
// coefficient is 0, +-1 or 1/2, so the transforms round only in their few additions.

// G applied to three values g[0], g[s], g[2s], written to r[0], r[rs], ..., r[3rs].
TYPENET_SIMD_INLINE void kernel_transform_f2(const vfloat* g, std::size_t s, vfloat* r, std::size_t rs) {
    const vfloat g0 = g[0], g1 = g[s], g2 = g[2 * s], outer = g0 + g2;
    r[0] = g0;
    r[rs] = (outer + g1) * 0.5f;
    r[2 * rs] = (outer - g1) * 0.5f;
    r[3 * rs] = g2;
}

// B^T applied to four values.
TYPENET_SIMD_INLINE void input_transform_4(const vfloat* d, std::size_t s, vfloat* r, std::size_t rs) {
    const vfloat d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s];
    r[0] = d0 - d2;
    r[rs] = d1 + d2;
    r[2 * rs] = d2 - d1;
    r[3 * rs] = d3 - d1;
}

// A^T applied to four values: two outputs.
TYPENET_SIMD_INLINE void output_transform_4(const vfloat* m, std::size_t s, vfloat* o, std::size_t os) {
    const vfloat m0 = m[0], m1 = m[s], m2 = m[2 * s], m3 = m[3 * s];
    o[0] = m0 + (m1 + m2);
    o[os] = (m1 - m2) + m3;
}

// G' (rows D [1, p]) applied to a 2-point "filter" z[0], z[s].
TYPENET_SIMD_INLINE void gradient_transform_2(const vfloat* z, std::size_t s, vfloat* r, std::size_t rs) {
    const vfloat z0 = z[0], z1 = z[s];
    r[0] = z0;
    r[rs] = (z0 + z1) * 0.5f;
    r[2 * rs] = (z0 - z1) * 0.5f;
    r[3 * rs] = z1;
}

// A'^T of F(3x3, 2x2) applied to four values: three kernel taps.
template <class T>
TYPENET_SIMD_INLINE void kernel_output_transform_4(const T* m, std::size_t s, T* o, std::size_t os) {
    const T m0 = m[0], m1 = m[s], m2 = m[2 * s], m3 = m[3 * s];
    o[0] = m0 + (m1 + m2);
    o[os] = m1 - m2;
    o[2 * os] = (m1 + m2) + m3;
}

// The five transforms of F(Tile x Tile, 3x3), applied along one axis: `at(x, stride)`
// reads values `stride` apart, as the 2-D transforms do row by row and column by column.
// Tile 4 works on 6x6 tiles, Tile 2 on 4x4 ones.
template <std::size_t Tile>
struct Transforms {
    static_assert(Tile == 2 || Tile == 4, "winograd: tiles are 2x2 or 4x4");
    TYPENET_SIMD_INLINE static void kernel(const vfloat* g, std::size_t s, vfloat* r, std::size_t rs) {
        if constexpr (Tile == 4) kernel_transform_f4(g, s, r, rs); else kernel_transform_f2(g, s, r, rs);
    }
    TYPENET_SIMD_INLINE static void input(const vfloat* d, std::size_t s, vfloat* r, std::size_t rs) {
        if constexpr (Tile == 4) input_transform_6(d, s, r, rs); else input_transform_4(d, s, r, rs);
    }
    TYPENET_SIMD_INLINE static void output(const vfloat* m, std::size_t s, vfloat* o, std::size_t os) {
        if constexpr (Tile == 4) output_transform_6(m, s, o, os); else output_transform_4(m, s, o, os);
    }
    TYPENET_SIMD_INLINE static void gradient(const vfloat* z, std::size_t s, vfloat* r, std::size_t rs) {
        if constexpr (Tile == 4) gradient_transform_4(z, s, r, rs); else gradient_transform_2(z, s, r, rs);
    }
    template <class T>
    TYPENET_SIMD_INLINE static void kernel_output(const T* m, std::size_t s, T* o, std::size_t os) {
        if constexpr (Tile == 4) kernel_output_transform_6(m, s, o, os); else kernel_output_transform_4(m, s, o, os);
    }
};

// Eight doubles, for the kernel gradient's last transform: it adds up to 36 sums of
// many products once per kernel element, cheap enough to round only at the end.
typedef double vdouble __attribute__((vector_size(64)));
inline constexpr std::size_t double_lanes = 8;

// Through arrays, not vector subscripts: nvcc's front end also reads this header.
TYPENET_SIMD_INLINE void load_widened(vdouble& v, const float* p, std::size_t count) {
    float f[double_lanes] = {};
    double d[double_lanes];
    std::memcpy(f, p, count * sizeof(float));
    for (std::size_t l = 0; l < double_lanes; ++l) d[l] = f[l];
    std::memcpy(&v, d, sizeof v);
}
TYPENET_SIMD_INLINE void store_narrowed(float* p, const vdouble& v, std::size_t count) {
    float f[double_lanes];
    double d[double_lanes];
    std::memcpy(d, &v, sizeof v);
    for (std::size_t l = 0; l < double_lanes; ++l) f[l] = static_cast<float>(d[l]);
    std::memcpy(p, f, count * sizeof(float));
}

// Where tile t of the batch lies.
struct TilePlace {
    std::size_t image;
    std::ptrdiff_t y0, x0;  // top-left input pixel of its window (may be negative)
    std::size_t oy0, ox0;   // top-left output pixel
};

inline TilePlace place_of(const ConvGeometry& g, std::size_t tile, std::size_t tiles_h, std::size_t tiles_w,
                          std::size_t t) {
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
    ReLUClamp relu;
    float* y;
    std::size_t tiles_h, tiles_w, tiles;
    std::size_t block;     // tiles per block (V and M are laid out for this many)
    std::size_t v_stride;  // floats from one tile to the next in V (tile_stride)
    std::size_t m_stride;  // the same in M (and Z)
};

// Floats from one tile's points to the next in V, M and Z. P C floats would do, but
// with C a power of two that is a multiple of 4 KiB, so the 12 rows the register kernel
// reads at once (and the 12 it writes) fall into one set of the 8-way L1 cache and
// evict each other: 64 floats more spread them over sets 256 bytes apart (measured
// 1.6-1.7x the products' speed at C = K = 64, 128 and 512, one core).
inline std::size_t tile_stride(std::size_t points_times_channels) { return points_times_channels + 64; }

// V[b][xi][c] for the tiles [t0, t0 + count) of the batch.
template <std::size_t Tile>
void transform_inputs(const TileJob& job, std::size_t t0, std::size_t count, float* V) {
    constexpr std::size_t n = Size<Tile>::window, P = Size<Tile>::points;
    const ConvGeometry& g = job.g;
    const std::size_t C = g.in_c;
    simd::run([&]() TYPENET_SIMD {
        vfloat d[P], r[P];
        for (std::size_t b = 0; b < count; ++b) {
            const TilePlace p = place_of(g, Tile, job.tiles_h, job.tiles_w, t0 + b);
            const float* image = job.x + p.image * g.in_size();
            bool row_in[n], col_in[n];
            bool whole = true;
            for (std::size_t i = 0; i < n; ++i) {
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
                    for (std::size_t i = 0; i < n; ++i)
                        for (std::size_t j = 0; j < n; ++j) simd::load(d[i * n + j], at + (i * g.in_w + j) * C);
                } else {
                    for (std::size_t i = 0; i < n; ++i)
                        for (std::size_t j = 0; j < n; ++j) {
                            if (!row_in[i] || !col_in[j]) {
                                d[i * n + j] = vfloat{};
                                continue;
                            }
                            const float* at = image +
                                              (static_cast<std::size_t>(p.y0 + static_cast<std::ptrdiff_t>(i)) * g.in_w +
                                               static_cast<std::size_t>(p.x0 + static_cast<std::ptrdiff_t>(j))) * C + c;
                            simd::load_n(d[i * n + j], at, width);
                        }
                }
                for (std::size_t j = 0; j < n; ++j) Transforms<Tile>::input(d + j, n, r + j, n);          // B^T d
                for (std::size_t i = 0; i < n; ++i) Transforms<Tile>::input(r + i * n, 1, d + i * n, 1);  // (B^T d) B
                float* out = V + b * job.v_stride + c;  // a tile's points together
                for (std::size_t xi = 0; xi < P; ++xi) simd::store_n(out + xi * C, d[xi], width);
            }
        }
    });
}

// Y = A^T M A for the tiles [t0, t0 + count), plus bias and (optionally) ReLU, into y.
template <std::size_t Tile>
void transform_outputs(const TileJob& job, std::size_t t0, std::size_t count, const float* M) {
    constexpr std::size_t n = Size<Tile>::window, P = Size<Tile>::points;
    const ConvGeometry& g = job.g;
    const std::size_t K = g.filters;
    const ReLUClamp relu = job.relu;  // a local: the stores below cannot alias it
    simd::run([&]() TYPENET_SIMD {
        vfloat m[P], s[Tile * n], o[Tile * Tile];
        for (std::size_t b = 0; b < count; ++b) {
            const TilePlace p = place_of(g, Tile, job.tiles_h, job.tiles_w, t0 + b);
            const std::size_t rows = std::min(Tile, g.out_h - p.oy0), cols = std::min(Tile, g.out_w - p.ox0);
            float* image = job.y + p.image * g.out_size();
            for (std::size_t k = 0; k < K; k += simd::lanes) {
                const std::size_t width = std::min(simd::lanes, K - k);
                const float* in = M + b * job.m_stride + k;
                for (std::size_t xi = 0; xi < P; ++xi) simd::load_n(m[xi], in + xi * K, width);
                for (std::size_t j = 0; j < n; ++j) Transforms<Tile>::output(m + j, n, s + j, n);  // A^T m: Tile x n
                for (std::size_t i = 0; i < Tile; ++i)
                    Transforms<Tile>::output(s + i * n, 1, o + i * Tile, 1);  // (A^T m) A
                vfloat bias{};
                if (job.bias != nullptr) simd::load_n(bias, job.bias + k, width);
                for (std::size_t i = 0; i < rows; ++i)
                    for (std::size_t j = 0; j < cols; ++j) {
                        vfloat v = o[i * Tile + j] + bias;
                        apply_relu_clamp(relu, v);  // NaN passes, as in TensorFlow
                        float* at = image + ((p.oy0 + i) * g.out_w + p.ox0 + j) * K + k;
                        simd::store_n(at, v, width);
                    }
            }
        }
    });
}

// Z[b][xi][k] = (G' dz G'^T)[xi] for the tiles [t0, t0 + count): the Tile x Tile block
// of dL/dz of each tile (zeros past the output's edge), job.y holding dL/dz.
template <std::size_t Tile>
void transform_gradients(const TileJob& job, std::size_t t0, std::size_t count, float* Z) {
    constexpr std::size_t n = Size<Tile>::window, P = Size<Tile>::points;
    const ConvGeometry& g = job.g;
    const std::size_t K = g.filters;
    simd::run([&]() TYPENET_SIMD {
        vfloat z[Tile * Tile], t[n * Tile], u[P];
        for (std::size_t b = 0; b < count; ++b) {
            const TilePlace p = place_of(g, Tile, job.tiles_h, job.tiles_w, t0 + b);
            const std::size_t rows = std::min(Tile, g.out_h - p.oy0), cols = std::min(Tile, g.out_w - p.ox0);
            const float* image = job.y + p.image * g.out_size();
            for (std::size_t k = 0; k < K; k += simd::lanes) {
                const std::size_t width = std::min(simd::lanes, K - k);
                for (std::size_t i = 0; i < Tile; ++i)
                    for (std::size_t j = 0; j < Tile; ++j) {
                        if (i < rows && j < cols)
                            simd::load_n(z[i * Tile + j], image + ((p.oy0 + i) * g.out_w + p.ox0 + j) * K + k, width);
                        else
                            z[i * Tile + j] = vfloat{};
                    }
                for (std::size_t j = 0; j < Tile; ++j)
                    Transforms<Tile>::gradient(z + j, Tile, t + j, Tile);  // G' z: n x Tile
                for (std::size_t i = 0; i < n; ++i)
                    Transforms<Tile>::gradient(t + i * Tile, 1, u + i * n, 1);  // (G' z) G'^T
                float* out = Z + b * job.m_stride + k;
                for (std::size_t xi = 0; xi < P; ++xi) simd::store_n(out + xi * K, u[xi], width);
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

// Channels per partial sum in the register kernel: each chunk's sum is added to M, so
// the rounding error of a long sum over C grows like one chunk's, not like C's.
inline constexpr std::size_t sum_chunk = 16;

// M[rows x K] = V[rows x C] * U for one point xi (U in the panel layout). The products
// of a block are small and V is already in a layout a register kernel can read, so
// nothing is copied: 12 rows x 32 columns of M are held in 24 registers while a chunk
// of the C-long sums runs, each U panel row loaded once feeds 24 FMAs, with V values
// broadcast straight from memory.
//
// Whole (rows == 12): rows 6-11 are read through rows 0-5's addresses plus one offset,
// so six registers hold addresses, not twelve: with twelve, GCC spills an accumulator
// inside the loop (measured 0.73x the speed at C = K = 512). A partial group repeats its
// last row in the rows it does not store.
template <std::size_t Vectors, bool Whole>
TYPENET_SIMD_INLINE void multiply_rows(const float* V, std::size_t ldv, const float* panel, float* M, std::size_t ldm,
                                       std::size_t rows, std::size_t C) {
    constexpr std::size_t R = 12, H = R / 2, width = Vectors * simd::lanes;
    const float* a[R];
    TYPENET_UNROLL(12)
    for (std::size_t r = 0; r < R; ++r) a[r] = V + std::min(r, rows - 1) * ldv;
    const std::size_t lower = H * ldv;  // Whole: row r + H at a[r] + lower
    for (std::size_t c0 = 0; c0 < C; c0 += sum_chunk) {
        const std::size_t c1 = std::min(C, c0 + sum_chunk);
        vfloat acc[R][Vectors];
        TYPENET_UNROLL(12)
        for (std::size_t r = 0; r < R; ++r)
            TYPENET_UNROLL(2)
            for (std::size_t v = 0; v < Vectors; ++v) acc[r][v] = vfloat{};
        const float* p = panel + c0 * width;
        for (std::size_t c = c0; c < c1; ++c, p += width) {
            vfloat b[Vectors];
            TYPENET_UNROLL(2)
            for (std::size_t v = 0; v < Vectors; ++v) simd::load(b[v], p + v * simd::lanes);
            TYPENET_UNROLL(6)
            for (std::size_t r = 0; r < H; ++r) {
                const float upper = a[r][c], below = Whole ? a[r][c + lower] : a[r + H][c];
                TYPENET_UNROLL(2)
                for (std::size_t v = 0; v < Vectors; ++v) {
                    acc[r][v] += upper * b[v];
                    acc[r + H][v] += below * b[v];
                }
            }
        }
        const std::size_t stored = Whole ? R : rows;  // a constant when Whole: M's adds unroll
        TYPENET_UNROLL(12)
        for (std::size_t r = 0; r < stored; ++r)
            TYPENET_UNROLL(2)
            for (std::size_t v = 0; v < Vectors; ++v) {
                float* at = M + r * ldm + v * simd::lanes;
                if (c0 != 0) {
                    vfloat before;
                    simd::load(before, at);
                    acc[r][v] += before;
                }
                simd::store(at, acc[r][v]);
            }
    }
}

// V rows ldv floats apart, M rows ldm floats apart. Strides that are multiples of 4 KiB
// put the 12 rows in one set of the L1 cache (see tile_stride).
// Only under AVX-512 (register_kernel), so compiled for it alone.
inline void multiply(const float* V, std::size_t ldv, const float* U, float* M, std::size_t ldm, std::size_t rows,
                     std::size_t C, std::size_t K) {
    simd::run<simd::Builds::avx512_only>([&]() TYPENET_SIMD {
        // Row groups outside: a group's 12 V rows stay in L1 while the U panels stream by.
        for (std::size_t r = 0; r < rows; r += 12) {
            const std::size_t n = std::min<std::size_t>(12, rows - r);
            const float* v = V + r * ldv;
            float* m = M + r * ldm;
            std::size_t k = 0;
            for (; k + 2 * simd::lanes <= K; k += 2 * simd::lanes)
                if (n == 12)
                    multiply_rows<2, true>(v, ldv, U + k * C, m + k, ldm, n, C);
                else
                    multiply_rows<2, false>(v, ldv, U + k * C, m + k, ldm, n, C);
            if (k < K) multiply_rows<1, false>(v, ldv, U + k * C, m + k, ldm, n, C);  // last panel 16 wide
        }
    });
}

// U for kernel rows: source(c, ky, kx) points at the K floats of output channels.
// U[xi] is C x K row-major, or in the panel layout when the register kernel will use it.
template <std::size_t Tile, class Source>
void transform_kernel_with(std::size_t C, std::size_t K, float* U, Source source) {
    constexpr std::size_t n = Size<Tile>::window, P = Size<Tile>::points;
    const bool packed = register_kernel(K);
    parallel_for(C, [&](std::size_t c) {
        simd::run([&]() TYPENET_SIMD {
            vfloat g[9], t[n * 3], u[P];
            for (std::size_t k = 0; k < K; k += simd::lanes) {
                const std::size_t width = std::min(simd::lanes, K - k);
                for (std::size_t e = 0; e < 9; ++e) simd::load_n(g[e], source(c, e / 3, e % 3) + k, width);
                for (std::size_t kx = 0; kx < 3; ++kx) Transforms<Tile>::kernel(g + kx, 3, t + kx, 3);  // G g: n x 3
                for (std::size_t i = 0; i < n; ++i) Transforms<Tile>::kernel(t + i * 3, 1, u + i * n, 1);  // (G g) G^T
                const std::size_t at = packed ? panel_offset(c, k, C, K) : c * K + k;
                for (std::size_t xi = 0; xi < P; ++xi) simd::store_n(U + xi * C * K + at, u[xi], width);
            }
        });
    }, K * 200);
}

}  // namespace detail

// U[xi] (C x K, in the layout convolve() reads) from a Keras kernel (3, 3, C, K).
template <std::size_t Tile>
void transform_kernel(const float* kernel, std::size_t C, std::size_t K, float* U) {
    detail::transform_kernel_with<Tile>(C, K, U, [&](std::size_t c, std::size_t ky, std::size_t kx) {
        return kernel + ((ky * 3 + kx) * C + c) * K;
    });
}

// U of the flipped kernel with input and output channels swapped: U[xi][k][c] from
// g'(ky, kx, k, c) = kernel(2 - ky, 2 - kx, c, k), the kernel of dL/dx = dL/dz (*) g'.
// `transposed` is scratch for 9 * C * K floats.
template <std::size_t Tile>
void transform_flipped_kernel(const float* kernel, std::size_t C, std::size_t K, float* U, float* transposed) {
    parallel_for(9, [&](std::size_t e) {
        const float* from = kernel + (8 - e) * C * K;  // (2 - ky, 2 - kx)
        float* to = transposed + e * K * C;
        for (std::size_t c = 0; c < C; ++c)
            for (std::size_t k = 0; k < K; ++k) to[k * C + c] = from[c * K + k];
    }, C * K);
    detail::transform_kernel_with<Tile>(K, C, U, [&](std::size_t k, std::size_t ky, std::size_t kx) {
        return transposed + ((ky * 3 + kx) * K + k) * C;
    });
}

// Tiles per block, measured for F(4x4) (one thread, VGG-16 and model A layers). With
// small channel counts (C x K up to 128 x 128) short blocks win: V and M stay in L2.
// With large ones every block streams all of U (36 C K floats, 36 MB at 512 x 512)
// through the caches, so blocks must be long to reuse it. Multiples of 12, the register
// kernel's rows. The kernel gradient (OpenBLAS GEMMs summing over the block) prefers
// 64 / 256. F(2x2) tiles take 16 points, not 36: the same bytes hold 2.25x the tiles.
// At least one block per thread.
template <std::size_t Tile>
std::size_t block_tiles(const ConvGeometry& g, std::size_t tiles, bool kernel_gradient = false) {
    const std::size_t threads = static_cast<std::size_t>(cpu_threads());
    const bool small = g.in_c * g.filters <= 128 * 128;
    std::size_t block = kernel_gradient ? (small ? 64 : 256) : (small ? 24 : 288);
    if constexpr (Tile == 2) block = kernel_gradient ? (small ? 48 : 256) : block * 9 / 4 / 12 * 12;
    const std::size_t balanced = (tiles + threads - 1) / threads;
    return std::max<std::size_t>(1, std::min(block, balanced));
}

// y = act(conv(x, U) + bias) for a geometry that applies(); act linear or ReLU.
// The caller holds the scratch lock; U was made by transform_kernel (or the flipped one).
template <std::size_t Tile>
void convolve(const ConvGeometry& g, const float* x, std::size_t batch, const float* U, const float* bias, ReLUClamp relu,
              float* y, CpuScratch& scratch) {
    constexpr std::size_t P = Size<Tile>::points;
    detail::TileJob job{g, x, U, bias, relu, y, (g.out_h + Tile - 1) / Tile, (g.out_w + Tile - 1) / Tile, 0, 0,
                        detail::tile_stride(P * g.in_c), detail::tile_stride(P * g.filters)};
    job.tiles = batch * job.tiles_h * job.tiles_w;
    job.block = block_tiles<Tile>(g, job.tiles);
    const std::size_t v_size = job.block * job.v_stride, m_size = job.block * job.m_stride;
    float* base = scratch.per_thread(v_size + m_size);
    const std::size_t stride = CpuScratch::per_thread_stride(v_size + m_size);
    const std::size_t blocks = (job.tiles + job.block - 1) / job.block;
    parallel_tasks(blocks, [&](std::size_t task, unsigned slot) {
        float* V = base + slot * stride;
        float* M = V + v_size;
        const std::size_t t0 = task * job.block, count = std::min(job.block, job.tiles - t0);
        detail::transform_inputs<Tile>(job, t0, count, V);
        for (std::size_t xi = 0; xi < P; ++xi) {
            // Point xi of every tile: rows a tile stride apart.
            const std::size_t ldv = job.v_stride, ldm = job.m_stride;
            const float* V_xi = V + xi * g.in_c;
            const float* U_xi = U + xi * g.in_c * g.filters;
            float* M_xi = M + xi * g.filters;
            if (detail::register_kernel(g.filters))
                detail::multiply(V_xi, ldv, U_xi, M_xi, ldm, count, g.in_c, g.filters);
            else
                gemm_serial(false, false, count, g.filters, g.in_c, 1.0f, V_xi, ldv, U_xi, g.filters, 0.0f, M_xi, ldm);
        }
        detail::transform_outputs<Tile>(job, t0, count, M);
    });
}

// dkernel (3, 3, C, K) = sum over the batch of x (*) dz for a geometry that applies().
// Each part of the tiles is summed into its own S; the copies are added in order, then
// transformed.
template <std::size_t Tile>
void kernel_gradient(const ConvGeometry& g, const float* x, std::size_t batch, const float* dz, float* dkernel,
                     CpuScratch& scratch) {
    constexpr std::size_t n = Size<Tile>::window, P = Size<Tile>::points;
    const std::size_t C = g.in_c, K = g.filters;
    detail::TileJob job{g, x, nullptr, nullptr, false, const_cast<float*>(dz), (g.out_h + Tile - 1) / Tile,
                        (g.out_w + Tile - 1) / Tile, 0, 0, detail::tile_stride(P * C), detail::tile_stride(P * K)};
    job.tiles = batch * job.tiles_h * job.tiles_w;
    job.block = block_tiles<Tile>(g, job.tiles, true);
    const std::size_t v_size = job.block * job.v_stride, z_size = job.block * job.m_stride, s_size = P * C * K;
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
        detail::transform_inputs<Tile>(job, t0, count, V);
        detail::transform_gradients<Tile>(job, t0, count, Z);
        for (std::size_t xi = 0; xi < P; ++xi)
            gemm_serial(true, false, C, K, count, 1.0f, V + xi * C, job.v_stride, Z + xi * K, job.m_stride, 1.0f,
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
            detail::vdouble m[P], r[3 * n], w[9];
            for (std::size_t k = 0; k < K; k += detail::double_lanes) {
                const std::size_t width = std::min(detail::double_lanes, K - k);
                for (std::size_t xi = 0; xi < P; ++xi) detail::load_widened(m[xi], S + (xi * C + c) * K + k, width);
                for (std::size_t j = 0; j < n; ++j)
                    detail::Transforms<Tile>::kernel_output(m + j, n, r + j, n);  // 3 x n
                for (std::size_t i = 0; i < 3; ++i)
                    detail::Transforms<Tile>::kernel_output(r + i * n, 1, w + i * 3, 1);  // 3 x 3
                for (std::size_t e = 0; e < 9; ++e) detail::store_narrowed(dkernel + (e * C + c) * K + k, w[e], width);
            }
        });
    }, K * 300);
}

// Floats of shared scratch the transformed kernel needs.
template <std::size_t Tile>
std::size_t kernel_floats(const ConvGeometry& g) {
    return Size<Tile>::points * g.in_c * g.filters;
}

}  // namespace typenet::cpu_kernels::winograd
