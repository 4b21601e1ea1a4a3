// Straightforward references for the CPU kernel tests: loops written from the
// definitions (NHWC cross-correlation, TensorFlow padding), in double, sharing no code
// with the library's kernels.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string_view>
#include <vector>

#include "typenet/backend/kernels.hpp"

namespace cpu_test {

// A convolution's geometry from its sizes, with TensorFlow's 'same' (smaller half before).
inline typenet::ConvGeometry geometry(std::size_t h, std::size_t w, std::size_t c, std::size_t k, std::size_t filters,
                                      std::size_t stride, bool same) {
    std::size_t oh, ow, top = 0, left = 0;
    if (same) {
        oh = (h + stride - 1) / stride;
        ow = (w + stride - 1) / stride;
        top = static_cast<std::size_t>(std::max(0L, long((oh - 1) * stride + k) - long(h))) / 2;
        left = static_cast<std::size_t>(std::max(0L, long((ow - 1) * stride + k) - long(w))) / 2;
    } else {
        oh = (h - k) / stride + 1;
        ow = (w - k) / stride + 1;
    }
    return {h, w, c, k, k, filters, stride, stride, top, left, oh, ow};
}

inline std::vector<float> random_values(std::size_t count, unsigned seed, float low = -1.0f, float high = 1.0f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(low, high);
    std::vector<float> v(count);
    for (auto& x : v) x = dist(rng);
    return v;
}

// Random gamma, beta and moving statistics (variance in [0.5, 2]) in every
// BatchNormalization of a network: a trained network's are not 1, 0, 0, 1.
template <class Net>
void randomise_batch_norms(Net& net) {
    unsigned seed = 100;
    net.for_each_weight([&](std::string_view, auto& tensor, bool) {
        const std::string_view name = tensor.name;
        if (name == "gamma") tensor.set_values(random_values(tensor.size(), ++seed, 0.5f, 1.5f));
        if (name == "beta" || name == "moving_mean") tensor.set_values(random_values(tensor.size(), ++seed));
        if (name == "moving_variance") tensor.set_values(random_values(tensor.size(), ++seed, 0.5f, 2.0f));
    });
}

// Input pixel (row, col) under output (i, j) and kernel tap (a, b); false in the padding.
inline bool tap(const typenet::ConvGeometry& g, std::size_t i, std::size_t j, std::size_t a, std::size_t b, long& row,
                long& col) {
    row = long(i * g.stride_h + a) - long(g.pad_top);
    col = long(j * g.stride_w + b) - long(g.pad_left);
    return row >= 0 && col >= 0 && row < long(g.in_h) && col < long(g.in_w);
}

// y = act(conv(x, kernel) + bias), act linear or ReLU.
inline std::vector<float> conv_forward(const typenet::ConvGeometry& g, const std::vector<float>& x, std::size_t batch,
                                       const std::vector<float>& kernel, const std::vector<float>& bias, bool relu) {
    std::vector<float> y(batch * g.out_size());
    for (std::size_t n = 0; n < batch; ++n)
        for (std::size_t i = 0; i < g.out_h; ++i)
            for (std::size_t j = 0; j < g.out_w; ++j)
                for (std::size_t f = 0; f < g.filters; ++f) {
                    double acc = bias.empty() ? 0.0 : bias[f];
                    for (std::size_t a = 0; a < g.kernel_h; ++a)
                        for (std::size_t b = 0; b < g.kernel_w; ++b) {
                            long row, col;
                            if (!tap(g, i, j, a, b, row, col)) continue;
                            for (std::size_t c = 0; c < g.in_c; ++c)
                                acc += double(x[((n * g.in_h + row) * g.in_w + col) * g.in_c + c]) *
                                       kernel[((a * g.kernel_w + b) * g.in_c + c) * g.filters + f];
                        }
                    if (relu && acc < 0) acc = 0;
                    y[((n * g.out_h + i) * g.out_w + j) * g.filters + f] = float(acc);
                }
    return y;
}

struct ConvGradients {
    std::vector<float> dx, dkernel, dbias;
};

// Gradients of L from dz = dL/d(pre-activation), accumulated tap by tap.
inline ConvGradients conv_backward(const typenet::ConvGeometry& g, const std::vector<float>& x, std::size_t batch,
                                   const std::vector<float>& kernel, const std::vector<float>& dz) {
    std::vector<double> dx(batch * g.in_size(), 0.0), dk(g.patch_size() * g.filters, 0.0), db(g.filters, 0.0);
    for (std::size_t n = 0; n < batch; ++n)
        for (std::size_t i = 0; i < g.out_h; ++i)
            for (std::size_t j = 0; j < g.out_w; ++j)
                for (std::size_t f = 0; f < g.filters; ++f) {
                    const double d = dz[((n * g.out_h + i) * g.out_w + j) * g.filters + f];
                    db[f] += d;
                    for (std::size_t a = 0; a < g.kernel_h; ++a)
                        for (std::size_t b = 0; b < g.kernel_w; ++b) {
                            long row, col;
                            if (!tap(g, i, j, a, b, row, col)) continue;
                            for (std::size_t c = 0; c < g.in_c; ++c) {
                                const std::size_t xi = ((n * g.in_h + row) * g.in_w + col) * g.in_c + c;
                                const std::size_t ki = ((a * g.kernel_w + b) * g.in_c + c) * g.filters + f;
                                dx[xi] += d * kernel[ki];
                                dk[ki] += d * x[xi];
                            }
                        }
                }
    return {std::vector<float>(dx.begin(), dx.end()), std::vector<float>(dk.begin(), dk.end()),
            std::vector<float>(db.begin(), db.end())};
}

// max |a - b| / max |b|: the error relative to the tensor's scale.
inline double relative_error(const std::vector<float>& a, const std::vector<float>& b) {
    double diff = 0.0, scale = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, std::abs(double(a[i]) - double(b[i])));
        scale = std::max(scale, std::abs(double(b[i])));
    }
    return scale == 0.0 ? diff : diff / scale;
}

}  // namespace cpu_test
