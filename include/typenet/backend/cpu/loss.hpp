// typenet/backend/cpu/loss.hpp
// The loss kernel on the CPU: Keras 2's cross-entropies, their accuracy metric and
// their gradient, in one pass over the batch. The per-row arithmetic is shared with the
// GPU (backend/shared_math.hpp, which cites Keras); sums are taken in double.
#pragma once

#include <cstddef>

#include "typenet/backend/kernels.hpp"
#include "typenet/backend/shared_math.hpp"

namespace typenet::cpu_kernels {

// See backend/kernels.hpp for the contract.
inline void loss_value_and_gradient(LossKind kind, bool from_logits, const float* y_pred, const float* y_true,
                                    std::size_t rows, std::size_t cols, float* grad, bool grad_wrt_preactivation,
                                    float grad_scale, float* totals) {
    double loss_sum = 0.0, accuracy_sum = 0.0, invalid = 0.0;
    const std::size_t label_cols = kind == LossKind::sparse_categorical_crossentropy ? 1 : cols;
    for (std::size_t r = 0; r < rows; ++r) {
        float* g = grad != nullptr ? grad + r * cols : nullptr;
        const shared_math::SampleResult result = shared_math::loss_row(
            kind, from_logits, y_pred + r * cols, y_true + r * label_cols, cols, g, grad_wrt_preactivation, grad_scale);
        loss_sum += result.loss;
        accuracy_sum += result.accuracy;
        invalid += result.valid ? 0.0 : 1.0;
    }
    totals[0] = static_cast<float>(loss_sum);
    totals[1] = static_cast<float>(accuracy_sum);
    totals[2] = static_cast<float>(invalid);
}

}  // namespace typenet::cpu_kernels
