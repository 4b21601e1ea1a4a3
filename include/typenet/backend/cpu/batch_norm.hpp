// typenet/backend/cpu/batch_norm.hpp
// Batch normalisation per channel (the last axis of a row-major tensor: NHWC or (N, C)).
// Statistics are summed in double, in a fixed number of contiguous row blocks added in
// order, so the result does not depend on the thread count. Two passes (mean, then the
// squared deviations) rather than E[x^2] - E[x]^2, which cancels badly; across ranks each
// pass's sums are summed over the ranks (the *_across forms, for data-parallel training).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <vector>

#include "typenet/backend/cpu/parallel.hpp"
#include "typenet/core/batch_statistics.hpp"

namespace typenet::cpu_kernels {

namespace bn_detail {

// Row blocks for a reduction: a function of the size only (not of the threads).
inline std::size_t blocks_for(std::size_t rows, std::size_t channels) {
    return std::clamp<std::size_t>(rows * channels / 32768, 1, std::min<std::size_t>(rows, 64));
}

// sums[t * C + c] = sum over rows of term(t, row pointer...) as accumulated by body:
// body(r, acc) adds row r's contribution to acc (Terms * C doubles).
template <std::size_t Terms, class Body>
std::vector<double> reduce_rows(std::size_t rows, std::size_t channels, Body&& body) {
    const std::size_t blocks = bn_detail::blocks_for(rows, channels);
    std::vector<double> partial(blocks * Terms * channels, 0.0);
    parallel_tasks(blocks, [&](std::size_t block, unsigned) {
        double* acc = partial.data() + block * Terms * channels;
        const std::size_t end = rows * (block + 1) / blocks;
        for (std::size_t r = rows * block / blocks; r < end; ++r) body(r, acc);
    });
    std::vector<double> sums(Terms * channels, 0.0);
    for (std::size_t b = 0; b < blocks; ++b)
        for (std::size_t i = 0; i < sums.size(); ++i) sums[i] += partial[b * Terms * channels + i];
    return sums;
}

// y = gamma * (x - mean) * inv_std + beta, row by row.
inline void normalise(const float* x, std::size_t rows, std::size_t C, const float* gamma, const float* beta,
                      const float* mean, const float* inv_std, float* y) {
    std::vector<float> scale(C), shift(C);
    for (std::size_t c = 0; c < C; ++c) {
        scale[c] = gamma[c] * inv_std[c];
        shift[c] = beta[c] - mean[c] * scale[c];
    }
    parallel_for(rows, [&](std::size_t r) {
        const float* in = x + r * C;
        float* out = y + r * C;
        for (std::size_t c = 0; c < C; ++c) out[c] = in[c] * scale[c] + shift[c];
    }, C * 2);
}

}  // namespace bn_detail

// The statistics of a batch split over ranks (core/batch_statistics.hpp): across->sum(span)
// replaces the rank's per-channel sums by the sums over all ranks, so every rank normalises
// with the whole global batch's mean and variance. A rank with no rows still takes part.
// One process: across is null (batchnorm_forward_training below). Not a template on the
// summing callable: one copy of this code for every layer that calls it.
inline void batchnorm_forward_training_across(const float* x, std::size_t rows, std::size_t C, const float* gamma,
                                       const float* beta, float epsilon, float momentum, float* y, float* saved_mean,
                                       float* saved_inv_std, float* moving_mean, float* moving_variance,
                                       BatchStatisticsSum* across) {
    std::vector<double> sums(C + 1, 0.0);  // per channel, then the row count
    if (rows != 0)
        std::copy_n(bn_detail::reduce_rows<1>(rows, C, [&](std::size_t r, double* acc) {
                        const float* in = x + r * C;
                        for (std::size_t c = 0; c < C; ++c) acc[c] += in[c];
                    }).begin(),
                    C, sums.begin());
    sums[C] = static_cast<double>(rows);
    if (across != nullptr) across->sum(std::span<double>(sums));
    const double total = sums[C];
    if (total == 0.0) return;  // no batch anywhere, no statistics: the moving ones stay
    for (std::size_t c = 0; c < C; ++c) saved_mean[c] = static_cast<float>(sums[c] / total);
    std::vector<double> squares(C, 0.0);
    if (rows != 0)
        squares = bn_detail::reduce_rows<1>(rows, C, [&](std::size_t r, double* acc) {
            const float* in = x + r * C;
            for (std::size_t c = 0; c < C; ++c) {
                const double d = static_cast<double>(in[c]) - saved_mean[c];
                acc[c] += d * d;
            }
        });
    if (across != nullptr) across->sum(std::span<double>(squares));
    for (std::size_t c = 0; c < C; ++c) {
        const double variance = squares[c] / total;  // biased, as Keras normalises
        saved_inv_std[c] = static_cast<float>(1.0 / std::sqrt(variance + epsilon));
        moving_mean[c] = moving_mean[c] * momentum + saved_mean[c] * (1.0f - momentum);
        moving_variance[c] = moving_variance[c] * momentum + static_cast<float>(variance) * (1.0f - momentum);
    }
    if (rows != 0) bn_detail::normalise(x, rows, C, gamma, beta, saved_mean, saved_inv_std, y);
}

inline void batchnorm_forward_training(const float* x, std::size_t rows, std::size_t C, const float* gamma,
                                       const float* beta, float epsilon, float momentum, float* y, float* saved_mean,
                                       float* saved_inv_std, float* moving_mean, float* moving_variance) {
    if (rows == 0) return;  // no batch, no statistics: the moving ones stay
    batchnorm_forward_training_across(x, rows, C, gamma, beta, epsilon, momentum, y, saved_mean, saved_inv_std,
                                      moving_mean, moving_variance, nullptr);
}

inline void batchnorm_forward_inference(const float* x, std::size_t rows, std::size_t C, const float* gamma,
                                        const float* beta, const float* moving_mean, const float* moving_variance,
                                        float epsilon, float* y, float* saved_mean, float* saved_inv_std) {
    for (std::size_t c = 0; c < C; ++c) {
        saved_mean[c] = moving_mean[c];
        saved_inv_std[c] = 1.0f / std::sqrt(moving_variance[c] + epsilon);
    }
    bn_detail::normalise(x, rows, C, gamma, beta, saved_mean, saved_inv_std, y);
}

// Training mode, with xhat = (x - mean) inv_std and N rows:
//   dx = gamma inv_std / N * (N dy - sum dy - xhat sum(dy xhat)).
// Inference mode: dx = gamma inv_std dy.
// Across ranks (see batchnorm_forward_training_across): dgamma and dbeta stay this rank's
// sums (the trainer sums parameter gradients), dx uses the sums and N of the global batch.
inline void batchnorm_backward_across(const float* x, const float* dy, std::size_t rows, std::size_t C, const float* gamma,
                               const float* mean, const float* inv_std, bool batch_statistics, float* dx,
                               float* dgamma, float* dbeta, BatchStatisticsSum* across) {
    const bool need_sums = dgamma != nullptr || dbeta != nullptr || (dx != nullptr && batch_statistics);
    std::vector<double> sums(2 * C + 1, 0.0);  // sum dy, sum dy xhat, then the row count
    if (need_sums && rows > 0)
        std::copy_n(bn_detail::reduce_rows<2>(rows, C, [&](std::size_t r, double* acc) {
                        const float* in = x + r * C;
                        const float* d = dy + r * C;
                        for (std::size_t c = 0; c < C; ++c) {
                            acc[c] += d[c];
                            acc[C + c] += static_cast<double>(d[c]) * ((in[c] - mean[c]) * inv_std[c]);
                        }
                    }).begin(),
                    2 * C, sums.begin());
    for (std::size_t c = 0; c < C; ++c) {
        if (dbeta != nullptr) dbeta[c] = static_cast<float>(sums[c]);
        if (dgamma != nullptr) dgamma[c] = static_cast<float>(sums[C + c]);
    }
    if (dx == nullptr) return;
    sums[2 * C] = static_cast<double>(rows);
    if (batch_statistics && across != nullptr) across->sum(std::span<double>(sums));
    const double total = sums[2 * C];
    if (rows == 0) return;
    std::vector<float> scale(C), mean_dy(C), mean_dy_xhat(C);
    for (std::size_t c = 0; c < C; ++c) {
        scale[c] = gamma[c] * inv_std[c];
        mean_dy[c] = batch_statistics ? static_cast<float>(sums[c] / total) : 0.0f;
        mean_dy_xhat[c] = batch_statistics ? static_cast<float>(sums[C + c] / total) : 0.0f;
    }
    parallel_for(rows, [&](std::size_t r) {
        const float* in = x + r * C;
        const float* d = dy + r * C;
        float* out = dx + r * C;
        for (std::size_t c = 0; c < C; ++c) {
            const float xhat = (in[c] - mean[c]) * inv_std[c];
            out[c] = scale[c] * (d[c] - mean_dy[c] - xhat * mean_dy_xhat[c]);
        }
    }, C * 4);
}

inline void batchnorm_backward(const float* x, const float* dy, std::size_t rows, std::size_t C, const float* gamma,
                               const float* mean, const float* inv_std, bool batch_statistics, float* dx,
                               float* dgamma, float* dbeta) {
    batchnorm_backward_across(x, dy, rows, C, gamma, mean, inv_std, batch_statistics, dx, dgamma, dbeta, nullptr);
}

}  // namespace typenet::cpu_kernels
