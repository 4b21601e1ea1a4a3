// typenet/backend/shared_math.hpp
// Scalar math that the CPU and the CUDA kernels both run, written once so the two
// backends cannot drift apart: the stable sigmoid and Keras 2's per-row cross-entropies
// (keras/backend/tensorflow_backend.py of Keras 2.2) with their accuracy metric and
// gradient. Values are computed in float as TensorFlow does, so they agree with Keras
// to float rounding. Callable from host code and, under nvcc, from device code.
//
// The C math functions (expf, logf, ...) are used on purpose: they are what std::exp
// and friends call for float on the host, and what device code has under nvcc.
// Comparisons are written as std::max and std::clamp write them, so a NaN prediction
// gives a NaN loss on both backends (and training stops on it).
#pragma once

#include <math.h>

#include <cstddef>

#include "typenet/backend/kernels.hpp"  // LossKind
#include "typenet/core/device.hpp"

namespace typenet::shared_math {

// Keras's K.epsilon(): predictions are clipped to [epsilon, 1 - epsilon] before the log.
inline constexpr float loss_epsilon = 1e-7f;

// Stable on both sides: exp never overflows.
TYPENET_HOST_DEVICE inline float sigmoid(float z) {
    if (z >= 0.0f) return 1.0f / (1.0f + expf(-z));
    const float e = expf(z);
    return e / (1.0f + e);
}

// TensorFlow's sigmoid_cross_entropy_with_logits: max(z, 0) - z * t + log(1 + exp(-|z|)).
TYPENET_HOST_DEVICE inline float sigmoid_cross_entropy(float z, float t) {
    return (z < 0.0f ? 0.0f : z) - z * t + log1pf(expf(-fabsf(z)));
}

// Index of the first largest value (numpy's and TensorFlow's argmax).
TYPENET_HOST_DEVICE inline std::size_t argmax(const float* v, std::size_t n) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < n; ++i)
        if (v[i] > v[best]) best = i;
    return best;
}

// log(sum(exp(z))) without overflow.
TYPENET_HOST_DEVICE inline float log_sum_exp(const float* z, std::size_t n) {
    const float peak = z[argmax(z, n)];
    float total = 0.0f;
    for (std::size_t i = 0; i < n; ++i) total += expf(z[i] - peak);
    return peak + logf(total);
}

TYPENET_HOST_DEVICE inline bool inside_clip(float p) { return p >= loss_epsilon && p <= 1.0f - loss_epsilon; }
TYPENET_HOST_DEVICE inline float clip(float p) {
    return p < loss_epsilon ? loss_epsilon : (1.0f - loss_epsilon < p ? 1.0f - loss_epsilon : p);
}

// One sample's loss and metric; valid is false for a sparse label that is no class index.
struct SampleResult {
    float loss;
    float accuracy;
    bool valid;
};

// Every row function below: `pred` holds the row's predictions (probabilities, or
// logits when from_logits), `grad` (may be null) receives dL/dpred times `scale`, or
// dL/d(pre-activation) when wrt_preactivation (the fused, stable path through the
// model's last Sigmoid or Softmax).

// binary_crossentropy: mean over the row of sigmoid cross-entropies; the metric is
// binary_accuracy, mean(t == round(p)) (TensorFlow rounds half to even, so 0.5 -> 0).
TYPENET_HOST_DEVICE inline SampleResult binary_row(bool from_logits, const float* pred, const float* target,
                                                   std::size_t cols, float* grad, bool wrt_preactivation,
                                                   float scale) {
    float loss = 0.0f, hits = 0.0f;
    const float g_scale = scale / static_cast<float>(cols);
    for (std::size_t c = 0; c < cols; ++c) {
        const float t = target[c];
        if (from_logits) {
            const float z = pred[c];
            loss += sigmoid_cross_entropy(z, t);
            hits += t == (z > 0.0f ? 1.0f : 0.0f) ? 1.0f : 0.0f;
            if (grad != nullptr) grad[c] = (sigmoid(z) - t) * g_scale;
        } else {
            const float p = pred[c];
            const float pc = clip(p);
            const float z = logf(pc / (1.0f - pc));  // Keras turns the clipped p back into a logit
            loss += sigmoid_cross_entropy(z, t);
            hits += t == (p > 0.5f ? 1.0f : 0.0f) ? 1.0f : 0.0f;
            if (grad != nullptr) {
                if (wrt_preactivation)  // through the Sigmoid: d/dz = p - t, no clip (the stable path)
                    grad[c] = (p - t) * g_scale;
                else  // d/dp through the clip and the logit: (pc - t) / (pc (1 - pc))
                    grad[c] = inside_clip(p) ? (pc - t) / (pc * (1.0f - pc)) * g_scale : 0.0f;
            }
        }
    }
    const float n = static_cast<float>(cols);
    return {loss / n, hits / n, true};
}

// categorical_crossentropy: -sum t log(clip(p / sum p)); the metric is
// categorical_accuracy, argmax(t) == argmax(p).
TYPENET_HOST_DEVICE inline SampleResult categorical_row(bool from_logits, const float* pred, const float* target,
                                                        std::size_t cols, float* grad, bool wrt_preactivation,
                                                        float scale) {
    const float hit = argmax(target, cols) == argmax(pred, cols) ? 1.0f : 0.0f;
    float target_sum = 0.0f;
    for (std::size_t c = 0; c < cols; ++c) target_sum += target[c];
    float loss = 0.0f;
    if (from_logits) {  // softmax_cross_entropy_with_logits
        const float lse = log_sum_exp(pred, cols);
        for (std::size_t c = 0; c < cols; ++c) loss += target[c] * (lse - pred[c]);
        if (grad != nullptr)
            for (std::size_t c = 0; c < cols; ++c) grad[c] = (expf(pred[c] - lse) * target_sum - target[c]) * scale;
        return {loss, hit, true};
    }
    float total = 0.0f;
    for (std::size_t c = 0; c < cols; ++c) total += pred[c];
    for (std::size_t c = 0; c < cols; ++c) loss -= target[c] * logf(clip(pred[c] / total));
    if (grad != nullptr) {
        if (wrt_preactivation) {  // through the Softmax: p * sum(t) - t
            for (std::size_t c = 0; c < cols; ++c) grad[c] = (pred[c] * target_sum - target[c]) * scale;
        } else {
            // q = p / S; g_j = dL/dq_j = -t_j / q_j inside the clip (0 outside);
            // dL/dp_k = (g_k - sum_j g_j q_j) / S.
            float dot = 0.0f;
            for (std::size_t c = 0; c < cols; ++c) {
                const float q = pred[c] / total;
                grad[c] = inside_clip(q) ? -target[c] / q : 0.0f;
                dot += grad[c] * q;
            }
            for (std::size_t c = 0; c < cols; ++c) grad[c] = (grad[c] - dot) / total * scale;
        }
    }
    return {loss, hit, true};
}

// sparse_categorical_crossentropy: the label is a class index. Keras 2 takes
// log(clip(p)) as logits of a softmax cross-entropy: log(sum clip(p)) - log(clip(p_label)).
// The metric is sparse_categorical_accuracy, label == argmax(p).
TYPENET_HOST_DEVICE inline SampleResult sparse_row(bool from_logits, const float* pred, float label,
                                                   std::size_t cols, float* grad, bool wrt_preactivation,
                                                   float scale) {
    const bool valid = label >= 0.0f && label < static_cast<float>(cols) && floorf(label) == label;
    if (!valid) {  // counted by the caller; the host names the batch
        if (grad != nullptr)
            for (std::size_t c = 0; c < cols; ++c) grad[c] = 0.0f;
        return {0.0f, 0.0f, false};
    }
    const std::size_t k = static_cast<std::size_t>(label);
    const float hit = argmax(pred, cols) == k ? 1.0f : 0.0f;
    if (from_logits) {
        const float lse = log_sum_exp(pred, cols);
        if (grad != nullptr)
            for (std::size_t c = 0; c < cols; ++c) grad[c] = (expf(pred[c] - lse) - (c == k ? 1.0f : 0.0f)) * scale;
        return {lse - pred[k], hit, true};
    }
    float clipped_sum = 0.0f;
    for (std::size_t c = 0; c < cols; ++c) clipped_sum += clip(pred[c]);
    const float loss = logf(clipped_sum) - logf(clip(pred[k]));
    if (grad != nullptr) {
        for (std::size_t c = 0; c < cols; ++c) {
            const float onehot = c == k ? 1.0f : 0.0f;
            if (wrt_preactivation)  // through the Softmax: p - onehot
                grad[c] = (pred[c] - onehot) * scale;
            else  // dL/dc_j = 1 / sum(c) - onehot / c_j inside the clip
                grad[c] = inside_clip(pred[c]) ? (1.0f / clipped_sum - onehot / clip(pred[c])) * scale : 0.0f;
        }
    }
    return {loss, hit, true};
}

// One row of any of the three losses; `target` is the row's label (one float for the
// sparse loss, `cols` floats otherwise).
TYPENET_HOST_DEVICE inline SampleResult loss_row(LossKind kind, bool from_logits, const float* pred,
                                                 const float* target, std::size_t cols, float* grad,
                                                 bool wrt_preactivation, float scale) {
    switch (kind) {
        case LossKind::binary_crossentropy:
            return binary_row(from_logits, pred, target, cols, grad, wrt_preactivation, scale);
        case LossKind::categorical_crossentropy:
            return categorical_row(from_logits, pred, target, cols, grad, wrt_preactivation, scale);
        case LossKind::sparse_categorical_crossentropy:
            return sparse_row(from_logits, pred, *target, cols, grad, wrt_preactivation, scale);
    }
    return {0.0f, 0.0f, false};
}

}  // namespace typenet::shared_math
