// typenet/metrics/performance.hpp
// The chapter's model_evaluation_utils in one place: get_metrics (accuracy and the
// weighted precision, recall and F1, rounded to 4 places) and
// display_model_performance_metrics (that block, the classification report and the
// confusion matrix, under the chapter's headings).
#pragma once

#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "typenet/metrics/accuracy.hpp"
#include "typenet/metrics/classification_report.hpp"
#include "typenet/metrics/confusion_matrix.hpp"
#include "typenet/metrics/precision_recall.hpp"
#include "typenet/metrics/text_table.hpp"

namespace typenet {

struct PerformanceMetrics {
    double accuracy = 0;
    double precision = 0;  // weighted by support
    double recall = 0;     // weighted by support
    double f1_score = 0;   // weighted by support

    // Accuracy: 0.7867
    // Precision: 0.7875
    // Recall: 0.7867
    // F1 Score: 0.7865
    std::string to_string() const {
        using metrics_detail::fixed;
        return "Accuracy: " + fixed(accuracy, 4) + "\nPrecision: " + fixed(precision, 4) +
               "\nRecall: " + fixed(recall, 4) + "\nF1 Score: " + fixed(f1_score, 4) + "\n";
    }
};

namespace metrics_detail {
// numpy's np.round(x, 4): scale, round half to even, scale back.
inline double round4(double value) { return std::nearbyint(value * 1e4) / 1e4; }
}  // namespace metrics_detail

// The values are rounded to 4 places, as the chapter's np.round(..., 4).
inline PerformanceMetrics get_metrics(std::span<const int> y_true, std::span<const int> y_pred) {
    using metrics_detail::round4;
    const AverageScores weighted = average_scores(y_true, y_pred, Average::weighted);
    return {round4(accuracy_score(y_true, y_pred)), round4(weighted.precision), round4(weighted.recall),
            round4(weighted.f1_score)};
}

// The chapter's display_model_performance_metrics, as text: metrics block, report, matrix.
// `labels` / `target_names` as in classification_report (the chapter lists classes {1, 0}).
inline std::string model_performance_report(std::span<const int> y_true, std::span<const int> y_pred,
                                            const std::vector<int>& labels = {},
                                            const std::vector<std::string>& target_names = {}) {
    const std::string rule(30, '-');
    return "Model Performance metrics:\n" + rule + "\n" + get_metrics(y_true, y_pred).to_string() +
           "\nModel Classification report:\n" + rule + "\n" +
           classification_report(y_true, y_pred, labels, target_names).to_string() +
           "\nPrediction Confusion Matrix:\n" + rule + "\n" +
           confusion_matrix(y_true, y_pred, labels, target_names).to_string();
}

}  // namespace typenet
