// typenet/backend/cpu/loss.hpp
// The loss kernel on the CPU: Keras 2's cross-entropies (keras/backend/tensorflow_backend.py
// of Keras 2.2), their accuracy metric and their gradient, in one pass over the batch.
// Values are computed in float as TensorFlow does (so they agree with Keras to float
// rounding) and summed in double.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "typenet/backend/cpu/elementwise.hpp"
#include "typenet/backend/kernels.hpp"

namespace typenet::cpu_kernels {

// Keras's K.epsilon(): predictions are clipped to [epsilon, 1 - epsilon] before the log.
inline constexpr float loss_epsilon = 1e-7f;

namespace detail {

// TensorFlow's sigmoid_cross_entropy_with_logits: max(z, 0) - z * t + log(1 + exp(-|z|)).
inline float sigmoid_cross_entropy(float z, float t) {
    return std::max(z, 0.0f) - z * t + std::log1p(std::exp(-std::abs(z)));
}

// Index of the first largest value (numpy's and TensorFlow's argmax).
inline std::size_t argmax(const float* v, std::size_t n) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < n; ++i)
        if (v[i] > v[best]) best = i;
    return best;
}

// log(sum(exp(z))) without overflow.
inline float log_sum_exp(const float* z, std::size_t n) {
    const float peak = z[argmax(z, n)];
    float total = 0.0f;
    for (std::size_t i = 0; i < n; ++i) total += std::exp(z[i] - peak);
    return peak + std::log(total);
}

inline bool inside_clip(float p) { return p >= loss_epsilon && p <= 1.0f - loss_epsilon; }
inline float clip(float p) { return std::clamp(p, loss_epsilon, 1.0f - loss_epsilon); }

struct SampleResult {
    float loss;
    float accuracy;
    bool valid;
};

// binary_crossentropy: mean over the row of sigmoid cross-entropies; the metric is
// binary_accuracy, mean(t == round(p)) (TensorFlow rounds half to even, so 0.5 -> 0).
inline SampleResult binary_row(bool from_logits, const float* pred, const float* target, std::size_t cols, float* grad,
                               bool wrt_preactivation, float scale) {
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
            const float z = std::log(pc / (1.0f - pc));  // Keras turns the clipped p back into a logit
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
inline SampleResult categorical_row(bool from_logits, const float* pred, const float* target, std::size_t cols,
                                    float* grad, bool wrt_preactivation, float scale) {
    const float hit = argmax(target, cols) == argmax(pred, cols) ? 1.0f : 0.0f;
    float target_sum = 0.0f;
    for (std::size_t c = 0; c < cols; ++c) target_sum += target[c];
    float loss = 0.0f;
    if (from_logits) {  // softmax_cross_entropy_with_logits
        const float lse = log_sum_exp(pred, cols);
        for (std::size_t c = 0; c < cols; ++c) loss += target[c] * (lse - pred[c]);
        if (grad != nullptr)
            for (std::size_t c = 0; c < cols; ++c)
                grad[c] = (std::exp(pred[c] - lse) * target_sum - target[c]) * scale;
        return {loss, hit, true};
    }
    float total = 0.0f;
    for (std::size_t c = 0; c < cols; ++c) total += pred[c];
    for (std::size_t c = 0; c < cols; ++c) loss -= target[c] * std::log(clip(pred[c] / total));
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
inline SampleResult sparse_row(bool from_logits, const float* pred, float label, std::size_t cols, float* grad,
                               bool wrt_preactivation, float scale) {
    const bool valid = label >= 0.0f && label < static_cast<float>(cols) && std::floor(label) == label;
    if (!valid) {  // reported through totals[2]; the host names the batch
        if (grad != nullptr)
            for (std::size_t c = 0; c < cols; ++c) grad[c] = 0.0f;
        return {0.0f, 0.0f, false};
    }
    const std::size_t k = static_cast<std::size_t>(label);
    const float hit = argmax(pred, cols) == k ? 1.0f : 0.0f;
    if (from_logits) {
        const float lse = log_sum_exp(pred, cols);
        if (grad != nullptr)
            for (std::size_t c = 0; c < cols; ++c) grad[c] = (std::exp(pred[c] - lse) - (c == k ? 1.0f : 0.0f)) * scale;
        return {lse - pred[k], hit, true};
    }
    float clipped_sum = 0.0f;
    for (std::size_t c = 0; c < cols; ++c) clipped_sum += clip(pred[c]);
    const float loss = std::log(clipped_sum) - std::log(clip(pred[k]));
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

}  // namespace detail

// See backend/kernels.hpp for the contract.
inline void loss_value_and_gradient(LossKind kind, bool from_logits, const float* y_pred, const float* y_true,
                                    std::size_t rows, std::size_t cols, float* grad, bool grad_wrt_preactivation,
                                    float grad_scale, float* totals) {
    double loss_sum = 0.0, accuracy_sum = 0.0, invalid = 0.0;
    const std::size_t label_cols = kind == LossKind::sparse_categorical_crossentropy ? 1 : cols;
    for (std::size_t r = 0; r < rows; ++r) {
        const float* pred = y_pred + r * cols;
        const float* target = y_true + r * label_cols;
        float* g = grad != nullptr ? grad + r * cols : nullptr;
        detail::SampleResult result{};
        switch (kind) {
            case LossKind::binary_crossentropy:
                result = detail::binary_row(from_logits, pred, target, cols, g, grad_wrt_preactivation, grad_scale);
                break;
            case LossKind::categorical_crossentropy:
                result = detail::categorical_row(from_logits, pred, target, cols, g, grad_wrt_preactivation, grad_scale);
                break;
            case LossKind::sparse_categorical_crossentropy:
                result = detail::sparse_row(from_logits, pred, *target, cols, g, grad_wrt_preactivation, grad_scale);
                break;
        }
        loss_sum += result.loss;
        accuracy_sum += result.accuracy;
        invalid += result.valid ? 0.0 : 1.0;
    }
    totals[0] = static_cast<float>(loss_sum);
    totals[1] = static_cast<float>(accuracy_sum);
    totals[2] = static_cast<float>(invalid);
}

}  // namespace typenet::cpu_kernels
