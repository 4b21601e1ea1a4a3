// typenet/metrics/accuracy.hpp
// Fraction of samples whose predicted label equals the true one (sklearn accuracy_score).
#pragma once

#include <cstddef>
#include <span>

#include "typenet/metrics/class_order.hpp"

namespace typenet {

inline double accuracy_score(std::span<const int> y_true, std::span<const int> y_pred) {
    metrics_detail::check_label_vectors("accuracy_score", y_true, y_pred);
    std::size_t correct = 0;
    for (std::size_t i = 0; i < y_true.size(); ++i) correct += y_true[i] == y_pred[i] ? 1 : 0;
    return static_cast<double>(correct) / static_cast<double>(y_true.size());
}

}  // namespace typenet
