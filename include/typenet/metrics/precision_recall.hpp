// typenet/metrics/precision_recall.hpp
// Per-class precision, recall, F1 and support, and their averages, with sklearn's
// semantics. A ratio whose denominator is zero (a class never predicted has no
// precision, a class never present has no recall) reads 0, as sklearn's zero_division=0;
// sklearn also warns, typenet does not.
#pragma once

#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "typenet/metrics/class_order.hpp"

namespace typenet {

struct ClassScores {
    int label = 0;
    std::string name;
    double precision = 0;     // tp / (tp + fp)
    double recall = 0;        // tp / (tp + fn)
    double f1_score = 0;      // 2 tp / (2 tp + fp + fn), the harmonic mean of the two
    std::size_t support = 0;  // samples whose true label is this class
};

struct AverageScores {
    double precision = 0;
    double recall = 0;
    double f1_score = 0;
    std::size_t support = 0;  // all samples of the classes averaged
};

// sklearn's `average=`: micro pools the counts of all classes; macro is the plain mean of
// the per-class scores; weighted weights each class by its support; binary is class 1 alone.
enum class Average { binary, micro, macro, weighted };

namespace metrics_detail {

inline double ratio_or_zero(double numerator, double denominator) {
    return denominator == 0 ? 0.0 : numerator / denominator;
}

struct ClassCounts {
    std::size_t true_positives = 0, predicted = 0, actual = 0;
};

// Counts over every sample, also those whose labels are outside `labels`: a sample of
// class 0 predicted as class 2 is a miss for class 0 even when class 2 is not reported.
inline std::vector<ClassCounts> count_per_class(std::span<const int> y_true, std::span<const int> y_pred,
                                                const std::vector<int>& labels) {
    std::vector<ClassCounts> counts(labels.size());
    for (std::size_t c = 0; c < labels.size(); ++c) {
        for (std::size_t i = 0; i < y_true.size(); ++i) {
            const bool is_actual = y_true[i] == labels[c];
            const bool is_predicted = y_pred[i] == labels[c];
            counts[c].actual += is_actual;
            counts[c].predicted += is_predicted;
            counts[c].true_positives += is_actual && is_predicted;
        }
    }
    return counts;
}

inline double f1_from_counts(double tp, double predicted, double actual) {
    return ratio_or_zero(2 * tp, predicted + actual);
}

}  // namespace metrics_detail

// One entry per class of `order`, in that order.
inline std::vector<ClassScores> precision_recall_fscore_support(std::span<const int> y_true,
                                                                std::span<const int> y_pred, const ClassOrder& order) {
    metrics_detail::check_label_vectors("precision_recall_fscore_support", y_true, y_pred);
    using metrics_detail::ratio_or_zero;
    const auto counts = metrics_detail::count_per_class(y_true, y_pred, order.labels);
    std::vector<ClassScores> scores(order.labels.size());
    for (std::size_t c = 0; c < scores.size(); ++c) {
        const double tp = static_cast<double>(counts[c].true_positives);
        const double predicted = static_cast<double>(counts[c].predicted);
        const double actual = static_cast<double>(counts[c].actual);
        scores[c] = {order.labels[c],
                     c < order.names.size() ? order.names[c] : std::to_string(order.labels[c]),
                     ratio_or_zero(tp, predicted),
                     ratio_or_zero(tp, actual),
                     metrics_detail::f1_from_counts(tp, predicted, actual),
                     counts[c].actual};
    }
    return scores;
}

inline std::vector<ClassScores> precision_recall_fscore_support(std::span<const int> y_true,
                                                                std::span<const int> y_pred,
                                                                const std::vector<int>& labels = {}) {
    return precision_recall_fscore_support(
        y_true, y_pred, resolve_class_order("precision_recall_fscore_support", y_true, y_pred, labels));
}

// Macro or weighted average of per-class scores (micro and binary need the raw counts:
// use average_scores(y_true, y_pred, ...)).
inline AverageScores average_of(std::span<const ClassScores> classes, Average average) {
    if (average != Average::macro && average != Average::weighted)
        throw std::invalid_argument("average_of: only macro and weighted averages follow from per-class scores");
    AverageScores result;
    double total_weight = 0;
    for (const auto& c : classes) {
        const double weight = average == Average::weighted ? static_cast<double>(c.support) : 1.0;
        result.precision += weight * c.precision;
        result.recall += weight * c.recall;
        result.f1_score += weight * c.f1_score;
        result.support += c.support;
        total_weight += weight;
    }
    if (total_weight == 0) return AverageScores{0, 0, 0, result.support};  // no samples of any class: zero_division=0
    result.precision /= total_weight;
    result.recall /= total_weight;
    result.f1_score /= total_weight;
    return result;
}

// sklearn's precision_recall_fscore_support(..., average=...).
inline AverageScores average_scores(std::span<const int> y_true, std::span<const int> y_pred, Average average,
                                    const std::vector<int>& labels = {}) {
    metrics_detail::check_label_vectors("average_scores", y_true, y_pred);
    if (average == Average::binary) {
        for (std::size_t i = 0; i < y_true.size(); ++i)
            if ((y_true[i] != 0 && y_true[i] != 1) || (y_pred[i] != 0 && y_pred[i] != 1))
                throw std::invalid_argument("average_scores: Average::binary needs labels 0 and 1 only; sample " +
                                            std::to_string(i) + " has true " + std::to_string(y_true[i]) +
                                            ", predicted " + std::to_string(y_pred[i]) +
                                            " (use Average::macro, micro or weighted)");
        const auto positive = precision_recall_fscore_support(y_true, y_pred, std::vector<int>{1}).front();
        return {positive.precision, positive.recall, positive.f1_score, positive.support};
    }
    const ClassOrder order = resolve_class_order("average_scores", y_true, y_pred, labels);
    if (average == Average::micro) {
        using metrics_detail::ratio_or_zero;
        double tp = 0, predicted = 0, actual = 0;
        for (const auto& c : metrics_detail::count_per_class(y_true, y_pred, order.labels)) {
            tp += static_cast<double>(c.true_positives);
            predicted += static_cast<double>(c.predicted);
            actual += static_cast<double>(c.actual);
        }
        return {ratio_or_zero(tp, predicted), ratio_or_zero(tp, actual),
                metrics_detail::f1_from_counts(tp, predicted, actual), static_cast<std::size_t>(actual)};
    }
    const auto classes = precision_recall_fscore_support(y_true, y_pred, order);
    return average_of(classes, average);
}

inline double precision_score(std::span<const int> y_true, std::span<const int> y_pred, Average average,
                              const std::vector<int>& labels = {}) {
    return average_scores(y_true, y_pred, average, labels).precision;
}

inline double recall_score(std::span<const int> y_true, std::span<const int> y_pred, Average average,
                           const std::vector<int>& labels = {}) {
    return average_scores(y_true, y_pred, average, labels).recall;
}

inline double f1_score(std::span<const int> y_true, std::span<const int> y_pred, Average average,
                       const std::vector<int>& labels = {}) {
    return average_scores(y_true, y_pred, average, labels).f1_score;
}

}  // namespace typenet
