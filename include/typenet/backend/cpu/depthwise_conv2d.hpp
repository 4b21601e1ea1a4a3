// typenet/backend/cpu/depthwise_conv2d.hpp
// Depthwise convolution, NHWC: output channel o = c * M + m (M the depth multiplier)
// sees only input channel c = o / M, through kernel (kh, kw, in_c, M) read flat as
// (kh, kw, filters). Direct loops: a depthwise layer has kh * kw multiply-adds per
// output value, too few for a GEMM to pay. The innermost loop runs over contiguous
// output channels, which the compiler vectorises when M == 1.
// 3x3 with M == 1 (MobileNetV2's every depthwise layer), stride 1 or 2, has its own SIMD
// kernel (depthwise3x3_forward): 16 channels per register, the nine kernel vectors held in
// registers across an output row, four output pixels at a time so the FMA chains overlap,
// bias and ReLU applied before the store; the padding's taps are skipped, not multiplied.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <limits>

#include "typenet/backend/cpu/elementwise.hpp"
#include "typenet/backend/cpu/parallel.hpp"
#include "typenet/backend/cpu/relu.hpp"
#include "typenet/backend/cpu/relu_clamp.hpp"
#include "typenet/backend/cpu/simd.hpp"
#include "typenet/backend/kernels.hpp"

namespace typenet::cpu_kernels {

namespace depthwise_detail {

// The input row/column a tap reads, or false where it falls in the padding.
inline bool source(std::size_t out, std::size_t stride, std::size_t tap, std::size_t pad, std::size_t size,
                   std::size_t& in) {
    const std::size_t at = out * stride + tap;
    if (at < pad || at - pad >= size) return false;
    in = at - pad;
    return true;
}

// Calls f(ky, kx, iy, ix) for each tap of output pixel (oy, ox) that reads the input
// (iy, ix), skipping the taps that fall in the padding.
template <class F>
inline void each_tap(const ConvGeometry& g, std::size_t oy, std::size_t ox, F&& f) {
    for (std::size_t ky = 0; ky < g.kernel_h; ++ky) {
        std::size_t iy;
        if (!source(oy, g.stride_h, ky, g.pad_top, g.in_h, iy)) continue;
        for (std::size_t kx = 0; kx < g.kernel_w; ++kx) {
            std::size_t ix;
            if (!source(ox, g.stride_w, kx, g.pad_left, g.in_w, ix)) continue;
            f(ky, kx, iy, ix);
        }
    }
}

// acc[c * M + m] += in[c] * w[c * M + m] over the C input channels: a pixel's products
// for the forward pass (w the kernel) and for the kernel gradient (w the gradient).
inline void channel_products_add(float* acc, const float* in, const float* w, std::size_t C, std::size_t M) {
    if (M == 1)  // no division: the loop vectorises
        for (std::size_t o = 0; o < C; ++o) acc[o] += in[o] * w[o];
    else
        for (std::size_t c = 0; c < C; ++c)
            for (std::size_t m = 0; m < M; ++m) acc[c * M + m] += in[c] * w[c * M + m];
}

// Whether depthwise3x3_forward does this shape.
inline bool simd3x3_applies(const ConvGeometry& g) {
    return g.kernel_h == 3 && g.kernel_w == 3 && g.filters == g.in_c && (g.stride_h == 1 || g.stride_h == 2) &&
           g.stride_w == g.stride_h && g.pad_top <= 2 && g.pad_left <= 2;
}

// One output row oy of one image, channels [c, c + width) (out_row points at channel c): nine taps (the kernel in w[],
// taps in the padding skipped), four pixels at a time in the interior.
TYPENET_SIMD_INLINE void depthwise3x3_row(const ConvGeometry& g, const float* image, std::size_t oy, std::size_t c,
                                          std::size_t width, const float* kernel, const float* bias, ReLUClamp relu,
                                          float* out_row) {
    using simd::vfloat;
    const std::size_t C = g.in_c, S = g.stride_w;
    vfloat w[9], b{};
    const float* rows[3];  // input rows of the three ky taps (nullptr in the padding)
    bool all_rows = true;
    for (std::size_t ky = 0; ky < 3; ++ky) {
        std::size_t iy;
        rows[ky] = source(oy, g.stride_h, ky, g.pad_top, g.in_h, iy) ? image + iy * g.in_w * C + c : nullptr;
        all_rows = all_rows && rows[ky] != nullptr;
        for (std::size_t kx = 0; kx < 3; ++kx) simd::load_n(w[ky * 3 + kx], kernel + (ky * 3 + kx) * C + c, width);
    }
    if (bias != nullptr) simd::load_n(b, bias + c, width);
    // Output columns whose three taps are all inside the input: [ox_begin, ox_end).
    const std::size_t ox_begin = std::min(g.out_w, (g.pad_left + S - 1) / S);
    const std::size_t last_ok = g.in_w + g.pad_left >= 3 ? (g.in_w + g.pad_left - 3) / S + 1 : 0;
    const std::size_t ox_end = std::max(ox_begin, std::min(g.out_w, last_ok));
    auto edge = [&](std::size_t ox) TYPENET_SIMD {  // taps checked one by one
        vfloat acc = b;
        for (std::size_t ky = 0; ky < 3; ++ky) {
            if (rows[ky] == nullptr) continue;
            for (std::size_t kx = 0; kx < 3; ++kx) {
                std::size_t ix;
                if (!source(ox, S, kx, g.pad_left, g.in_w, ix)) continue;
                vfloat v;
                simd::load_n(v, rows[ky] + ix * C, width);
                acc += v * w[ky * 3 + kx];
            }
        }
        apply_relu_clamp(relu, acc);  // NaN passes, as in TensorFlow
        simd::store_n(out_row + ox * C, acc, width);
    };
    for (std::size_t ox = 0; ox < ox_begin; ++ox) edge(ox);
    std::size_t ox = ox_begin;
    // Interior: whole registers, all three rows inside; the rest (the tail of the channels,
    // rows in the padding, the last < 4 interior pixels) goes through edge().
    if (width == simd::lanes && all_rows) {
        for (; ox + 4 <= ox_end; ox += 4) {
            vfloat acc[4] = {b, b, b, b};
            const std::size_t x0 = ox * S - g.pad_left;
TYPENET_UNROLL(3)
            for (std::size_t ky = 0; ky < 3; ++ky)
TYPENET_UNROLL(3)
                for (std::size_t kx = 0; kx < 3; ++kx)
TYPENET_UNROLL(4)
                    for (std::size_t q = 0; q < 4; ++q) {
                        vfloat v;
                        simd::load(v, rows[ky] + ((x0 + q * S) + kx) * C);
                        acc[q] += v * w[ky * 3 + kx];
                    }
TYPENET_UNROLL(4)
            for (std::size_t q = 0; q < 4; ++q) {
                apply_relu_clamp(relu, acc[q]);
                simd::store(out_row + (ox + q) * C, acc[q]);
            }
        }
    }
    for (; ox < g.out_w; ++ox) edge(ox);
}

}  // namespace depthwise_detail

// 3x3 depthwise, M == 1, stride 1 or 2 (depthwise_detail::simd3x3_applies): y = act(x (*) k + bias)
// with act linear, ReLU or ReLU with a ceiling (relu_clamp.hpp).
inline void depthwise3x3_forward(const ConvGeometry& g, const float* x, std::size_t batch, const float* kernel,
                                 const float* bias, ReLUClamp relu, float* y) {
    const std::size_t C = g.in_c;
    parallel_for(batch * g.out_h, [&](std::size_t row) {
        const std::size_t n = row / g.out_h, oy = row % g.out_h;
        const float* image = x + n * g.in_size();
        float* out_row = y + n * g.out_size() + oy * g.out_w * C;
        simd::run([&]() TYPENET_SIMD {
            for (std::size_t c = 0; c < C; c += simd::lanes)
                depthwise_detail::depthwise3x3_row(g, image, oy, c, std::min(simd::lanes, C - c), kernel, bias,
                                                   relu, out_row + c);
        });
    }, g.out_w * C * 9 * 2);
}

// The straightforward loops, for any kernel size and depth multiplier.
inline void depthwise_conv2d_forward_loops(const ConvGeometry& g, const float* x, std::size_t batch, const float* kernel,
                                     const float* bias, float* y, ActivationKind act) {
    const std::size_t F = g.filters, C = g.in_c, M = F / C;
    parallel_for(batch * g.out_h, [&](std::size_t row) {
        const std::size_t n = row / g.out_h, oy = row % g.out_h;
        const float* image = x + n * g.in_size();
        for (std::size_t ox = 0; ox < g.out_w; ++ox) {
            float* out = y + n * g.out_size() + (oy * g.out_w + ox) * F;
            for (std::size_t o = 0; o < F; ++o) out[o] = bias != nullptr ? bias[o] : 0.0f;
            depthwise_detail::each_tap(g, oy, ox, [&](std::size_t ky, std::size_t kx, std::size_t iy, std::size_t ix) {
                depthwise_detail::channel_products_add(out, image + (iy * g.in_w + ix) * C,
                                                       kernel + (ky * g.kernel_w + kx) * F, C, M);
            });
        }
    }, g.out_w * F * g.kernel_h * g.kernel_w * 2);
    if (act != ActivationKind::linear) bias_activation(y, nullptr, batch * g.out_pixels(), F, act);
}

// With act relu, relu_ceiling caps it (a folded DepthwiseConv2D + BatchNormalization +
// ReLU(max_value) in inference, CPU only): in the 3x3 kernel's store, or one more pass.
inline void depthwise_conv2d_forward_capped(const ConvGeometry& g, const float* x, std::size_t batch,
                                            const float* kernel, const float* bias, float* y, ActivationKind act,
                                            float relu_ceiling) {
    const ReLUClamp relu{act == ActivationKind::relu, relu_ceiling};
    if (!depthwise_detail::simd3x3_applies(g)) {
        depthwise_conv2d_forward_loops(g, x, batch, kernel, bias, y, act);
        if (relu.capped()) relu_forward(y, y, batch * g.out_size(), relu_ceiling);
        return;
    }
    const bool fused = act == ActivationKind::linear || act == ActivationKind::relu;
    depthwise3x3_forward(g, x, batch, kernel, bias, relu, y);
    if (!fused) bias_activation(y, nullptr, batch * g.out_pixels(), g.filters, act);
}

inline void depthwise_conv2d_forward(const ConvGeometry& g, const float* x, std::size_t batch, const float* kernel,
                                     const float* bias, float* y, ActivationKind act) {
    depthwise_conv2d_forward_capped(g, x, batch, kernel, bias, y, act, std::numeric_limits<float>::infinity());
}

inline void depthwise_conv2d_backward(const ConvGeometry& g, const float* x, std::size_t batch, const float* kernel,
                                      const float* dz, float* dx, float* dkernel, float* dbias) {
    const std::size_t F = g.filters, C = g.in_c, M = F / C;
    if (dbias != nullptr) column_sums(dz, batch * g.out_pixels(), F, dbias);
    // One task per tap: each sums its own kernel row over the batch, in a fixed order.
    if (dkernel != nullptr)
        parallel_tasks(g.kernel_h * g.kernel_w, [&](std::size_t tap, unsigned) {
            const std::size_t ky = tap / g.kernel_w, kx = tap % g.kernel_w;
            float* dk = dkernel + tap * F;
            std::fill(dk, dk + F, 0.0f);
            for (std::size_t n = 0; n < batch; ++n)
                for (std::size_t oy = 0; oy < g.out_h; ++oy) {
                    std::size_t iy;
                    if (!depthwise_detail::source(oy, g.stride_h, ky, g.pad_top, g.in_h, iy)) continue;
                    for (std::size_t ox = 0; ox < g.out_w; ++ox) {
                        std::size_t ix;
                        if (!depthwise_detail::source(ox, g.stride_w, kx, g.pad_left, g.in_w, ix)) continue;
                        depthwise_detail::channel_products_add(dk, x + n * g.in_size() + (iy * g.in_w + ix) * C,
                                                               dz + n * g.out_size() + (oy * g.out_w + ox) * F, C, M);
                    }
                }
        });
    if (dx == nullptr) return;
    // One task per image: the scatter into dx stays within it.
    parallel_for(batch, [&](std::size_t n) {
        float* image = dx + n * g.in_size();
        std::memset(image, 0, g.in_size() * sizeof(float));
        for (std::size_t oy = 0; oy < g.out_h; ++oy)
            for (std::size_t ox = 0; ox < g.out_w; ++ox) {
                const float* d = dz + n * g.out_size() + (oy * g.out_w + ox) * F;
                depthwise_detail::each_tap(g, oy, ox, [&](std::size_t ky, std::size_t kx, std::size_t iy, std::size_t ix) {
                    float* in = image + (iy * g.in_w + ix) * C;
                    const float* k = kernel + (ky * g.kernel_w + kx) * F;
                    if (M == 1)
                        for (std::size_t o = 0; o < F; ++o) in[o] += k[o] * d[o];
                    else
                        for (std::size_t c = 0; c < C; ++c)
                            for (std::size_t m = 0; m < M; ++m) in[c] += k[c * M + m] * d[c * M + m];
                });
            }
    }, g.out_size() * g.kernel_h * g.kernel_w * 2);
}

}  // namespace typenet::cpu_kernels
