// typenet/metrics/roc.hpp
// ROC curve of a binary classifier's scores and the area under it (sklearn roc_curve with
// drop_intermediate=False, auc, roc_auc_score).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace typenet {

struct RocCurve {
    std::vector<double> fpr;         // false positive rate, from 0 up to 1
    std::vector<double> tpr;         // true positive rate, from 0 up to 1
    std::vector<double> thresholds;  // point i counts samples with score >= thresholds[i]; the first is +inf
};

// One point per distinct score, from the highest down, after a first point (0, 0) at
// threshold +inf. Equal scores are one threshold: they enter the positive side together,
// so a tie between a positive and a negative sample is a diagonal step, not two.
// Samples whose label is `pos_label` are positives, all others negatives.
inline RocCurve roc_curve(std::span<const int> y_true, std::span<const float> y_score, int pos_label = 1) {
    if (y_true.size() != y_score.size())
        throw std::invalid_argument("roc_curve: y_true has " + std::to_string(y_true.size()) +
                                    " labels but y_score has " + std::to_string(y_score.size()) + " scores");
    for (std::size_t i = 0; i < y_score.size(); ++i)
        if (std::isnan(y_score[i])) throw std::invalid_argument("roc_curve: score " + std::to_string(i) + " is NaN");
    const auto positives = static_cast<std::size_t>(std::count(y_true.begin(), y_true.end(), pos_label));
    if (positives == 0 || positives == y_true.size())
        throw std::invalid_argument("roc_curve: y_true needs both positive (label " + std::to_string(pos_label) +
                                    ") and negative samples; it has " + std::to_string(positives) + " positives of " +
                                    std::to_string(y_true.size()) + ", so a rate is undefined");

    std::vector<std::size_t> order(y_score.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return y_score[a] > y_score[b]; });

    RocCurve curve;
    curve.fpr.push_back(0);
    curve.tpr.push_back(0);
    curve.thresholds.push_back(std::numeric_limits<double>::infinity());
    const double negatives = static_cast<double>(y_true.size() - positives);
    std::size_t true_positives = 0, false_positives = 0;
    for (std::size_t k = 0; k < order.size(); ++k) {
        if (y_true[order[k]] == pos_label)
            ++true_positives;
        else
            ++false_positives;
        const bool last_of_tie = k + 1 == order.size() || y_score[order[k + 1]] != y_score[order[k]];
        if (!last_of_tie) continue;
        curve.fpr.push_back(static_cast<double>(false_positives) / negatives);
        curve.tpr.push_back(static_cast<double>(true_positives) / static_cast<double>(positives));
        curve.thresholds.push_back(y_score[order[k]]);
    }
    return curve;
}

// Area under y(x) by the trapezoid rule; x must be monotonic (either direction), as sklearn's auc.
inline double auc(std::span<const double> x, std::span<const double> y) {
    if (x.size() != y.size())
        throw std::invalid_argument("auc: x has " + std::to_string(x.size()) + " points but y has " +
                                    std::to_string(y.size()));
    if (x.size() < 2) throw std::invalid_argument("auc: needs at least 2 points, got " + std::to_string(x.size()));
    bool rises = false, falls = false;
    for (std::size_t i = 1; i < x.size(); ++i) {
        rises = rises || x[i] > x[i - 1];
        falls = falls || x[i] < x[i - 1];
    }
    if (rises && falls) throw std::invalid_argument("auc: x is neither increasing nor decreasing");
    double area = 0;
    for (std::size_t i = 1; i < x.size(); ++i) area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
    return falls ? -area : area;
}

inline double auc(const RocCurve& curve) { return auc(curve.fpr, curve.tpr); }

// Area under the ROC curve of binary labels and scores.
inline double roc_auc_score(std::span<const int> y_true, std::span<const float> y_score, int pos_label = 1) {
    return auc(roc_curve(y_true, y_score, pos_label));
}

}  // namespace typenet
