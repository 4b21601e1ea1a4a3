// typenet/metrics/classification_report.hpp
// sklearn's classification_report: per-class precision, recall, F1 and support, then the
// accuracy (or micro average) and the macro and weighted averages, printed as sklearn
// prints them (the chapter's display_classification_report).
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "typenet/metrics/accuracy.hpp"
#include "typenet/metrics/class_order.hpp"
#include "typenet/metrics/precision_recall.hpp"
#include "typenet/metrics/text_table.hpp"

namespace typenet {

struct ClassificationReport {
    std::vector<ClassScores> classes;  // in the report's class order
    // The accuracy line is printed when the report covers every class in the data; sklearn
    // then shows the micro average as "accuracy" (they are equal). Otherwise the micro
    // average gets its own line and `accuracy` is empty.
    std::optional<double> accuracy;
    AverageScores micro_avg;
    AverageScores macro_avg;
    AverageScores weighted_avg;
    std::size_t total_support = 0;

    // The sklearn table, byte for byte for ASCII names (sklearn's `digits`, default 2).
    std::string to_string(int digits = 2) const {
        using metrics_detail::fixed;
        using metrics_detail::pad_left;
        if (digits < 0 || digits > 15)
            throw std::invalid_argument("ClassificationReport::to_string: digits must be 0..15");
        std::size_t width = std::string_view("weighted avg").size();
        for (const auto& c : classes) width = std::max(width, metrics_detail::display_width(c.name));
        width = std::max(width, static_cast<std::size_t>(digits));
        const auto column = [](const std::string& text) { return " " + pad_left(text, 9); };

        std::string text = pad_left("", width) + " ";
        for (const char* header : {"precision", "recall", "f1-score", "support"}) text += " " + pad_left(header, 9);
        text += "\n\n";
        const auto row = [&](const std::string& name, const AverageScores& s) {
            return pad_left(name, width) + " " + column(fixed(s.precision, digits)) + column(fixed(s.recall, digits)) +
                   column(fixed(s.f1_score, digits)) + column(std::to_string(s.support)) + "\n";
        };
        for (const auto& c : classes) text += row(c.name, {c.precision, c.recall, c.f1_score, c.support});
        text += "\n";
        if (accuracy)
            text += pad_left("accuracy", width) + " " + column("") + column("") + column(fixed(*accuracy, digits)) +
                    column(std::to_string(total_support)) + "\n";
        else
            text += row("micro avg", micro_avg);
        text += row("macro avg", macro_avg);
        text += row("weighted avg", weighted_avg);
        return text;
    }
};

// `labels` picks and orders the classes (default: every label seen, sorted); `target_names`
// name them in that order (default: the labels as numbers).
inline ClassificationReport classification_report(std::span<const int> y_true, std::span<const int> y_pred,
                                                  const std::vector<int>& labels = {},
                                                  const std::vector<std::string>& target_names = {}) {
    metrics_detail::check_label_vectors("classification_report", y_true, y_pred);
    const ClassOrder order = resolve_class_order("classification_report", y_true, y_pred, labels, target_names);
    ClassificationReport report;
    report.classes = precision_recall_fscore_support(y_true, y_pred, order);
    report.micro_avg = average_scores(y_true, y_pred, Average::micro, order.labels);
    report.macro_avg = average_of(report.classes, Average::macro);
    report.weighted_avg = average_of(report.classes, Average::weighted);
    report.total_support = report.weighted_avg.support;

    const std::set<int> covered(order.labels.begin(), order.labels.end());
    const auto is_covered = [&](int label) { return covered.contains(label); };
    if (std::all_of(y_true.begin(), y_true.end(), is_covered) && std::all_of(y_pred.begin(), y_pred.end(), is_covered))
        report.accuracy = accuracy_score(y_true, y_pred);
    return report;
}

}  // namespace typenet
