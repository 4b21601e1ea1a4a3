// typenet/data/affine_sampler.hpp
// Resamples an image through an affine matrix with the arithmetic of
// scipy.ndimage.affine_transform (scipy >= 1.6, ndimage/src/ni_interpolation.c), which
// both Keras generations call per channel: order 0 (nearest) and order 1 (bilinear), the
// four fill modes Keras exposes. No OpenCV: it works on HWC float buffers.
//
// For output pixel (r, c) and matrix m (rows: input row, input col; on (row, col, 1)):
//   in_r = (m[0][2] + r * m[0][0]) + c * m[0][1]   in double, in scipy's order, so the
//   in_c = (m[1][2] + r * m[1][0]) + c * m[1][1]   coordinates are bit for bit scipy's
// Then, per axis of length n (scipy's map_coordinate, then its filter taps):
//   nearest   no mapping; taps outside 0..n-1 are clamped (aaaa|abcd|dddd)
//   reflect   half-sample symmetric (dcba|abcd|dcba): -x -> x - 1 (with scipy's 1e-15
//             guard at -0), beyond the end 2n - x - 1; taps mapped the same way
//   wrap      scipy's 'wrap', NOT periodic in n: the first and last pixels overlap, the
//             period is n - 1 (abcd|bcd|bcd: a shift of -3 on 1..6 reads 3 4 5 | 1 2 3);
//             taps past the end are mirrored ('grid-wrap', the period-n one, is not what
//             Keras passes)
//   constant  a coordinate outside [0, n - 1] (exactly: no tolerance) gives cval for the
//             whole pixel; inside, taps past the edge are mirrored (their weight is 0)
// Order 0 reads the tap floor(x + 0.5): ties (x exactly k + 0.5) go up, to k + 1.
// Order 1 reads floor(x) and floor(x) + 1 with weights w0 = 1 - f, w1 = 1 - w0
// (f = x - floor(x); scipy's get_spline_interpolation_weights), and sums in scipy's
// order: t = v00 w0r w0c + v01 w0r w1c + v10 w1r w0c + v11 w1r w1c, each product
// formed as (v * w_row) * w_col in double, the sum rounded once to float.
// Multiply-adds are never fused (see below), so the result is bit for bit scipy's for the
// same matrix, on any target.
//
// Speed: the coordinate of a pixel is that of its left neighbour plus m[.][1] in exact
// arithmetic, but not in floating point, so every pixel's is computed afresh as scipy
// does. Positions are monotone along a row, so the pixels that read inside the image form
// one run: its ends go through the fill-mode mapping pixel by pixel, the run through
// blocks whose positions, taps and weights are computed without branches (vectorised by
// the compiler; floor by truncation, exact for x >= 0 and no libm call on the baseline
// x86-64 target), then gathered, unrolled for 1 and 3 channels. Callers run one image per
// worker thread (PrefetchQueue), so one image is not split across threads.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "typenet/data/image_data_generator.hpp"

// scipy rounds every product and sum separately (its C is built without FMA): a fused
// multiply-add would move positions by an ulp and flip exact ties. GCC fuses across
// statements when the target has FMA (-march=native), so contraction is switched off for
// this header's functions; clang fuses within an expression, switched off per function.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#define TYPENET_NO_FP_CONTRACT
#elif defined(__clang__)
#define TYPENET_NO_FP_CONTRACT _Pragma("clang fp contract(off)")
#else
#define TYPENET_NO_FP_CONTRACT
#endif

namespace typenet {

namespace detail {

// scipy's map_coordinate (ni_interpolation.c) for the modes Keras passes, plus 'mirror'
// (whole-sample symmetric: dcb|abcd|cba), which scipy uses for the taps of 'wrap' and
// 'constant'. Returns -1 for 'constant' outside [0, len - 1].
enum class Extend { nearest, wrap, reflect, mirror, constant };

inline double map_coordinate(double in, std::int64_t len, Extend mode) {
    TYPENET_NO_FP_CONTRACT
    if (in < 0) {
        switch (mode) {
            case Extend::mirror:
                if (len <= 1) return 0;
                {
                    const std::int64_t sz2 = 2 * len - 2;
                    in = static_cast<double>(sz2 * static_cast<std::int64_t>(-in / static_cast<double>(sz2))) + in;
                    in = in <= static_cast<double>(1 - len) ? in + static_cast<double>(sz2) : -in;
                }
                break;
            case Extend::reflect:
                if (len <= 1) return 0;
                {
                    const std::int64_t sz2 = 2 * len;
                    if (in < static_cast<double>(-sz2))
                        in = static_cast<double>(sz2 * static_cast<std::int64_t>(-in / static_cast<double>(sz2))) + in;
                    // scipy's guard: -1e-15 < in < 0 must not map to exactly -1 (cval).
                    in = in < static_cast<double>(-len) ? in + static_cast<double>(sz2) : (in > -1e-15 ? 1e-15 : -in) - 1;
                }
                break;
            case Extend::wrap:
                if (len <= 1) return 0;
                {
                    const std::int64_t sz = len - 1;
                    in += static_cast<double>(sz * (static_cast<std::int64_t>(-in / static_cast<double>(sz)) + 1));
                }
                break;
            case Extend::nearest: in = 0; break;
            case Extend::constant: in = -1; break;
        }
    } else if (in > static_cast<double>(len - 1)) {
        switch (mode) {
            case Extend::mirror:
                if (len <= 1) return 0;
                {
                    const std::int64_t sz2 = 2 * len - 2;
                    in -= static_cast<double>(sz2 * static_cast<std::int64_t>(in / static_cast<double>(sz2)));
                    if (in >= static_cast<double>(len)) in = static_cast<double>(sz2) - in;
                }
                break;
            case Extend::reflect:
                if (len <= 1) return 0;
                {
                    const std::int64_t sz2 = 2 * len;
                    in -= static_cast<double>(sz2 * static_cast<std::int64_t>(in / static_cast<double>(sz2)));
                    if (in >= static_cast<double>(len)) in = static_cast<double>(sz2) - in - 1;
                }
                break;
            case Extend::wrap:
                if (len <= 1) return 0;
                {
                    const std::int64_t sz = len - 1;
                    in -= static_cast<double>(sz * static_cast<std::int64_t>(in / static_cast<double>(sz)));
                }
                break;
            case Extend::nearest: in = static_cast<double>(len - 1); break;
            case Extend::constant: in = -1; break;
        }
    }
    return in;
}

inline Extend extend_of(FillMode mode) {
    switch (mode) {
        case FillMode::nearest: return Extend::nearest;
        case FillMode::constant: return Extend::constant;
        case FillMode::reflect: return Extend::reflect;
        case FillMode::wrap: return Extend::wrap;
    }
    throw std::invalid_argument("affine_resample: unknown fill mode");
}

// scipy maps the filter taps near an edge with this mode (_get_spline_boundary_mode).
inline Extend tap_extend_of(Extend mode) {
    return mode == Extend::constant || mode == Extend::wrap ? Extend::mirror : mode;
}

// Where one axis reads: taps i0, i1 (in 0..len-1) with weights w0, w1; `outside` when
// 'constant' gives cval. Order 0 uses i0 only.
struct AxisTaps {
    std::int64_t i0 = 0, i1 = 0;
    double w0 = 1.0, w1 = 0.0;
    bool outside = false;
};

template <int Order>
inline AxisTaps axis_taps(double in, std::int64_t len, Extend mode, Extend tap_mode) {
    TYPENET_NO_FP_CONTRACT
    AxisTaps a;
    double cc = in;
    if (mode != Extend::nearest) cc = map_coordinate(cc, len, mode);  // scipy skips it for 'nearest'
    if (!(cc > -1.0) && mode != Extend::nearest) {
        a.outside = true;
        return a;
    }
    const double base = Order == 1 ? std::floor(cc) : std::floor(cc + 0.5);
    const auto start = static_cast<std::int64_t>(base);
    a.i0 = start;
    a.i1 = start + 1;
    if (start < 0 || start + Order >= len) {
        a.i0 = static_cast<std::int64_t>(map_coordinate(static_cast<double>(start), len, tap_mode));
        if (Order == 1) a.i1 = static_cast<std::int64_t>(map_coordinate(static_cast<double>(start + 1), len, tap_mode));
    }
    if (Order == 1) {
        const double f = cc - std::floor(cc);
        a.w0 = 1.0 - f;
        a.w1 = 1.0 - a.w0;  // scipy: the weights sum to 1 by construction
    }
    return a;
}

// A run of a row whose positions are all inside (every tap in the image, no fill-mode
// mapping), in blocks of 64 pixels: first the positions, taps
// and weights of the block, lane by lane with no branch (the compiler vectorises this
// part: SSE2 on the baseline target, two doubles at a time), then the gathers.
// Columns [begin, end) of output row `o_row`.
template <int Order, int Channels>
inline void sample_row_inside(const float* in, float* o_row, std::int64_t stride, std::int64_t channels,
                              std::int64_t begin, std::int64_t end, double base_r, double base_c, double step_r,
                              double step_c) {
    TYPENET_NO_FP_CONTRACT
    constexpr int block = 64;
    alignas(64) double wr[block], wc[block];
    alignas(64) std::int32_t ir[block], ic[block];
    const std::int64_t ch = Channels > 0 ? Channels : channels;
    float* o = o_row + begin * ch;
    for (std::int64_t c0 = begin; c0 < end; c0 += block) {
        const int n = static_cast<int>(std::min<std::int64_t>(block, end - c0));
        const auto first = static_cast<std::int32_t>(c0);
        for (int j = 0; j < n; ++j) {
            const double cd = static_cast<double>(first + j);
            const double sr = base_r + cd * step_r, sc = base_c + cd * step_c;
            // x >= 0 here, so truncation is scipy's floor.
            const auto a = static_cast<std::int32_t>(Order == 1 ? sr : sr + 0.5);
            const auto b = static_cast<std::int32_t>(Order == 1 ? sc : sc + 0.5);
            ir[j] = a;
            ic[j] = b;
            if constexpr (Order == 1) {
                wr[j] = 1.0 - (sr - static_cast<double>(a));
                wc[j] = 1.0 - (sc - static_cast<double>(b));
            }
        }
        for (int j = 0; j < n; ++j, o += ch) {
            const float* p = in + ir[j] * stride + ic[j] * ch;
            if constexpr (Order == 0) {
                for (std::int64_t k = 0; k < ch; ++k) o[k] = p[k];
            } else {
                const double wr0 = wr[j], wc0 = wc[j], wr1 = 1.0 - wr0, wc1 = 1.0 - wc0;
                const float* q = p + stride;
                for (std::int64_t k = 0; k < ch; ++k) {
                    double t = static_cast<double>(p[k]) * wr0 * wc0;
                    t += static_cast<double>(p[k + ch]) * wr0 * wc1;
                    t += static_cast<double>(q[k]) * wr1 * wc0;
                    t += static_cast<double>(q[k + ch]) * wr1 * wc1;
                    o[k] = static_cast<float>(t);
                }
            }
        }
    }
}

template <int Order, int Channels>
inline void affine_resample_rows(const float* in, float* out, std::int64_t height, std::int64_t width,
                                 std::int64_t channels, const AffineMatrix& m, Extend mode, float cval,
                                 std::int64_t row_begin, std::int64_t row_end) {
    TYPENET_NO_FP_CONTRACT
    const Extend tap_mode = tap_extend_of(mode);
    const double hmax = static_cast<double>(height - 1), wmax = static_cast<double>(width - 1);
    const std::int64_t stride = width * channels;
    auto inside = [&](double sr, double sc) { return sr >= 0.0 && sc >= 0.0 && sr < hmax && sc < wmax; };
    for (std::int64_t r = row_begin; r < row_end; ++r) {
        const double rd = static_cast<double>(r);
        const double base_r = m[0][2] + rd * m[0][0];  // scipy: shift first, then each coordinate
        const double base_c = m[1][2] + rd * m[1][0];
        // base + c * m is monotone in c under rounding too, so the pixels whose positions
        // are inside form one run of columns: the two ends go through the fill-mode
        // mapping pixel by pixel, the run between them through the branch-free blocks.
        auto position = [&](std::int64_t c, double& sr, double& sc) {
            const double cd = static_cast<double>(c);
            sr = base_r + cd * m[0][1];
            sc = base_c + cd * m[1][1];
        };
        auto edge_pixel = [&](std::int64_t c, double sr, double sc) {
            float* o = out + r * stride + c * channels;
            const AxisTaps ar = axis_taps<Order>(sr, height, mode, tap_mode);
            const AxisTaps ac = ar.outside ? AxisTaps{} : axis_taps<Order>(sc, width, mode, tap_mode);
            if (ar.outside || ac.outside) {
                for (std::int64_t k = 0; k < channels; ++k) o[k] = cval;  // scipy stores (float)cval
                return;
            }
            const float* p00 = in + ar.i0 * stride + ac.i0 * channels;
            if (Order == 0) {
                for (std::int64_t k = 0; k < channels; ++k) o[k] = p00[k];
                return;
            }
            const float* p01 = in + ar.i0 * stride + ac.i1 * channels;
            const float* p10 = in + ar.i1 * stride + ac.i0 * channels;
            const float* p11 = in + ar.i1 * stride + ac.i1 * channels;
            for (std::int64_t k = 0; k < channels; ++k) {
                double t = static_cast<double>(p00[k]) * ar.w0 * ac.w0;
                t += static_cast<double>(p01[k]) * ar.w0 * ac.w1;
                t += static_cast<double>(p10[k]) * ar.w1 * ac.w0;
                t += static_cast<double>(p11[k]) * ar.w1 * ac.w1;
                o[k] = static_cast<float>(t);
            }
        };
        std::int64_t begin = 0, end = width;
        double sr = 0, sc = 0;
        for (; begin < end; ++begin) {
            position(begin, sr, sc);
            if (inside(sr, sc)) break;
            edge_pixel(begin, sr, sc);
        }
        for (; end > begin; --end) {
            position(end - 1, sr, sc);
            if (inside(sr, sc)) break;
            edge_pixel(end - 1, sr, sc);
        }
        if (begin < end)
            sample_row_inside<Order, Channels>(in, out + r * stride, stride, channels, begin, end, base_r, base_c,
                                               m[0][1], m[1][1]);
    }
}

template <int Order>
inline void affine_resample_any(const float* in, float* out, std::int64_t h, std::int64_t w, std::int64_t ch,
                                const AffineMatrix& m, Extend mode, float cval) {
    switch (ch) {  // the usual channel counts get unrolled inner loops
        case 1: affine_resample_rows<Order, 1>(in, out, h, w, ch, m, mode, cval, 0, h); break;
        case 3: affine_resample_rows<Order, 3>(in, out, h, w, ch, m, mode, cval, 0, h); break;
        default: affine_resample_rows<Order, 0>(in, out, h, w, ch, m, mode, cval, 0, h); break;
    }
}

}  // namespace detail

// Resamples `in` (height x width x channels floats, row-major HWC) through Keras's
// matrix `m` (output (row, col) -> input (row, col)) into `out` (same shape; may not
// alias `in`), as scipy.ndimage.affine_transform(channel, m[:2, :2], m[:2, 2],
// order=0|1, mode=fill_mode, cval=cval) does for every channel. Throws
// std::invalid_argument for an empty image, aliasing buffers, or a matrix that is not
// finite or sends the image's corners beyond 2^52 pixels.
inline void affine_resample(const float* in, float* out, std::size_t height, std::size_t width,
                            std::size_t channels, const AffineMatrix& m, FillMode fill_mode, float cval,
                            Interpolation interpolation) {
    TYPENET_NO_FP_CONTRACT
    if (height == 0 || width == 0 || channels == 0)
        throw std::invalid_argument("affine_resample: empty image (" + std::to_string(height) + " x " +
                                    std::to_string(width) + " x " + std::to_string(channels) + ")");
    if (height >= (std::size_t{1} << 31) || width >= (std::size_t{1} << 31))
        throw std::invalid_argument("affine_resample: an image side of 2^31 pixels or more (" +
                                    std::to_string(height) + " x " + std::to_string(width) + ")");
    const std::size_t n = height * width * channels;
    if (in < out + n && out < in + n) throw std::invalid_argument("affine_resample: output overlaps the input");
    // Positions become integers: a matrix that is not finite, or sends a corner of the image
    // beyond 2^52 pixels, has no meaning as an image transform (and would overflow).
    for (const double r : {0.0, static_cast<double>(height - 1)})
        for (const double c : {0.0, static_cast<double>(width - 1)})
            for (int axis = 0; axis < 2; ++axis) {
                const double x = (m[axis][2] + r * m[axis][0]) + c * m[axis][1];
                if (!(std::abs(x) < 0x1p52))
                    throw std::invalid_argument("affine_resample: the matrix [[" + std::to_string(m[0][0]) + ", " +
                                                std::to_string(m[0][1]) + ", " + std::to_string(m[0][2]) + "], [" +
                                                std::to_string(m[1][0]) + ", " + std::to_string(m[1][1]) + ", " +
                                                std::to_string(m[1][2]) + "]] sends a corner of the " +
                                                std::to_string(height) + " x " + std::to_string(width) +
                                                " image to " + std::to_string(x) + " (not finite or too far)");
            }
    const auto h = static_cast<std::int64_t>(height), w = static_cast<std::int64_t>(width);
    const auto ch = static_cast<std::int64_t>(channels);
    const detail::Extend mode = detail::extend_of(fill_mode);
    if (interpolation == Interpolation::nearest)
        detail::affine_resample_any<0>(in, out, h, w, ch, m, mode, cval);
    else
        detail::affine_resample_any<1>(in, out, h, w, ch, m, mode, cval);
}

}  // namespace typenet

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif
#undef TYPENET_NO_FP_CONTRACT
