// typenet/metrics/confusion_matrix.hpp
// Counts of (actual, predicted) label pairs, rows = actual class, columns = predicted
// class, both in one stated class order (sklearn confusion_matrix; the chapter prints it
// with "Actual:" / "Predicted:" headings).
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "typenet/metrics/class_order.hpp"
#include "typenet/metrics/text_table.hpp"

namespace typenet {

struct ConfusionMatrix {
    std::vector<int> labels;          // class order of both rows and columns
    std::vector<std::string> names;   // printed names, same order
    std::vector<std::size_t> counts;  // row-major, size() x size()

    std::size_t size() const { return labels.size(); }

    // Samples of class labels[actual] that were predicted as labels[predicted].
    std::size_t at(std::size_t actual, std::size_t predicted) const {
        if (actual >= size() || predicted >= size())
            throw std::out_of_range("ConfusionMatrix::at(" + std::to_string(actual) + ", " + std::to_string(predicted) +
                                    "): the matrix is " + std::to_string(size()) + "x" + std::to_string(size()));
        return counts[actual * size() + predicted];
    }

    // Plain-text table:
    //                 Predicted:
    //                        cat  dog
    //         Actual: cat    385  115
    //                 dog     98  402
    std::string to_string() const {
        using metrics_detail::display_width;
        using metrics_detail::pad_left;
        using metrics_detail::pad_right;
        if (names.size() != size() || counts.size() != size() * size())
            throw std::invalid_argument("ConfusionMatrix::to_string: " + std::to_string(size()) +
                                        " labels need as many names (" + std::to_string(names.size()) + " given) and " +
                                        std::to_string(size() * size()) + " counts (" + std::to_string(counts.size()) +
                                        " given)");
        const std::string actual_heading = "Actual: ";
        std::size_t name_width = 0, cell_width = 0;
        for (const auto& name : names) name_width = std::max(name_width, display_width(name));
        for (const auto& name : names) cell_width = std::max(cell_width, display_width(name));
        for (std::size_t count : counts) cell_width = std::max(cell_width, std::to_string(count).size());
        const std::string indent(actual_heading.size() + name_width, ' ');

        std::string text = indent + "  Predicted:\n" + indent;
        for (const auto& name : names) text += "  " + pad_left(name, cell_width);
        text += "\n";
        for (std::size_t row = 0; row < size(); ++row) {
            text += (row == 0 ? actual_heading : std::string(actual_heading.size(), ' ')) +
                    pad_right(names[row], name_width);
            for (std::size_t column = 0; column < size(); ++column)
                text += "  " + pad_left(std::to_string(at(row, column)), cell_width);
            text += "\n";
        }
        return text;
    }
};

// `labels` picks and orders the classes (default: every label seen, sorted; the chapter
// uses {1, 0}); samples whose actual or predicted label is not among them are left out,
// as sklearn does. `target_names` name the classes in the order of `labels`.
inline ConfusionMatrix confusion_matrix(std::span<const int> y_true, std::span<const int> y_pred,
                                        const std::vector<int>& labels = {},
                                        const std::vector<std::string>& target_names = {}) {
    metrics_detail::check_label_vectors("confusion_matrix", y_true, y_pred);
    ClassOrder order = resolve_class_order("confusion_matrix", y_true, y_pred, labels, target_names);
    ConfusionMatrix matrix{std::move(order.labels), std::move(order.names), {}};
    const std::size_t n = matrix.size();
    matrix.counts.assign(n * n, 0);
    const auto index_of = [&](int label) {
        return static_cast<std::size_t>(std::find(matrix.labels.begin(), matrix.labels.end(), label) -
                                        matrix.labels.begin());
    };
    for (std::size_t i = 0; i < y_true.size(); ++i) {
        const std::size_t actual = index_of(y_true[i]), predicted = index_of(y_pred[i]);
        if (actual < n && predicted < n) ++matrix.counts[actual * n + predicted];
    }
    return matrix;
}

}  // namespace typenet
