// typenet/metrics/class_order.hpp
// Which classes a metric covers, in which order and under which names: sklearn's
// `labels=` and `target_names=` arguments, shared by the report, the confusion matrix
// and the averaged scores so that all of them agree on the order they print.
#pragma once

#include <algorithm>
#include <cstddef>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace typenet {

struct ClassOrder {
    std::vector<int> labels;         // class labels as they appear in y_true / y_pred
    std::vector<std::string> names;  // printed names, one per label, same order
};

namespace metrics_detail {

// Both label vectors must describe the same samples.
inline void check_label_vectors(std::string_view caller, std::span<const int> y_true, std::span<const int> y_pred) {
    if (y_true.size() != y_pred.size())
        throw std::invalid_argument(std::string(caller) + ": y_true has " + std::to_string(y_true.size()) +
                                    " labels but y_pred has " + std::to_string(y_pred.size()));
    if (y_true.empty()) throw std::invalid_argument(std::string(caller) + ": no samples (y_true and y_pred are empty)");
}

}  // namespace metrics_detail

// sklearn's defaults: without `labels`, every label seen in either vector, sorted; without
// `target_names`, the labels printed as numbers. `target_names` follow the order of `labels`
// (so labels {1, 0} go with names {"dog", "cat"} when cat = 0).
inline ClassOrder resolve_class_order(std::string_view caller, std::span<const int> y_true, std::span<const int> y_pred,
                                      const std::vector<int>& labels = {},
                                      const std::vector<std::string>& target_names = {}) {
    ClassOrder order;
    if (labels.empty()) {
        std::set<int> seen(y_true.begin(), y_true.end());
        seen.insert(y_pred.begin(), y_pred.end());
        order.labels.assign(seen.begin(), seen.end());
    } else {
        std::set<int> distinct(labels.begin(), labels.end());
        if (distinct.size() != labels.size())
            throw std::invalid_argument(std::string(caller) + ": `labels` lists a class more than once");
        order.labels = labels;
    }
    if (target_names.empty()) {
        for (int label : order.labels) order.names.push_back(std::to_string(label));
    } else {
        if (target_names.size() != order.labels.size())
            throw std::invalid_argument(std::string(caller) + ": " + std::to_string(target_names.size()) +
                                        " target_names for " + std::to_string(order.labels.size()) +
                                        " classes; give one name per class, in the order of the labels");
        order.names = target_names;
    }
    return order;
}

}  // namespace typenet
