// typenet/plot/confusion_matrix.hpp
// A confusion matrix as a heat map: rows are the actual class, columns the predicted one,
// each cell shaded by its count (matplotlib "Blues") with the count written in it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

#include <opencv2/core.hpp>

#include "typenet/metrics/confusion_matrix.hpp"
#include "typenet/plot/axes.hpp"
#include "typenet/plot/canvas.hpp"
#include "typenet/plot/colormap.hpp"
#include "typenet/plot/figure.hpp"
#include "typenet/plot/png_file.hpp"

namespace typenet {

// Figure::axes[0] maps (column + 0.5, row + 0.5) to the centre of a cell; Figure::legends[0]
// is the colour bar.
inline Figure render_confusion_matrix(const ConfusionMatrix& matrix, std::string_view title = "Confusion Matrix") {
    using namespace plotting;
    const std::size_t n = matrix.size();
    if (n == 0) throw std::invalid_argument("plot_confusion_matrix: the matrix has no classes");
    if (matrix.names.size() != n || matrix.counts.size() != n * n)
        throw std::invalid_argument("plot_confusion_matrix: " + std::to_string(n) + " classes need " +
                                    std::to_string(n) + " names and " + std::to_string(n * n) + " counts, got " +
                                    std::to_string(matrix.names.size()) + " and " +
                                    std::to_string(matrix.counts.size()));

    const double cell = std::clamp(std::round(440.0 / static_cast<double>(n)), 34.0, 140.0);
    const double side = cell * static_cast<double>(n);
    const Canvas measure(1, 1);
    double widest_name = 0;
    for (const auto& name : matrix.names)
        widest_name = std::max(widest_name, measure.text_size(name, label_style).width);
    const bool vertical_columns = widest_name > cell - 8;  // long names stand on end under their column
    const double name_height = measure.text_size("Ag", label_style).height;
    const double column_label_depth = vertical_columns ? widest_name : name_height;

    const double left = 40 + widest_name + 22, top = 80, bar_gap = 28, bar_width = 22;
    const double bottom = 18 + column_label_depth + 22 + name_height + 30;
    Canvas canvas(static_cast<int>(std::max(left + side + bar_gap + bar_width + 75, 420.0)),
                  static_cast<int>(top + side + bottom));
    Axes axes;
    axes.area = {left, top, side, side};
    axes.x_min = 0;
    axes.x_max = static_cast<double>(n);
    axes.y_min = static_cast<double>(n);
    axes.y_max = 0;

    canvas.text(title, {canvas.width() / 2.0, 24}, figure_title_style, HAlign::center, VAlign::top);
    const std::size_t largest = *std::max_element(matrix.counts.begin(), matrix.counts.end());
    const double scale_top = static_cast<double>(std::max<std::size_t>(largest, 1));
    double count_size = std::clamp(cell / 120.0, 0.42, 0.9);
    while (count_size > 0.3 && measure.text_size(std::to_string(largest), {count_size, 1}).width > cell - 8)
        count_size -= 0.04;
    for (std::size_t row = 0; row < n; ++row) {
        for (std::size_t column = 0; column < n; ++column) {
            const std::size_t count = matrix.at(row, column);
            const double shade = static_cast<double>(count) / scale_top;
            const cv::Point2d corner = axes.to_pixel(static_cast<double>(column), static_cast<double>(row));
            canvas.filled_rectangle({corner.x, corner.y, cell, cell}, blues(shade));
            const TextStyle count_style{count_size, count_size > 0.6 ? 2 : 1, shade > 0.5 ? white : black};
            canvas.text(std::to_string(count), corner + cv::Point2d(cell / 2, cell / 2), count_style, HAlign::center,
                        VAlign::middle);
        }
    }
    canvas.rectangle(axes.area, dark_gray, 1);

    for (std::size_t k = 0; k < n; ++k) {
        const double centre = (static_cast<double>(k) + 0.5) * cell;
        canvas.text(matrix.names[k], {left - 10, top + centre}, label_style, HAlign::right, VAlign::middle);
        if (vertical_columns) {
            const double width = measure.text_size(matrix.names[k], label_style).width;
            canvas.vertical_text(matrix.names[k], {left + centre, top + side + 10 + width / 2}, label_style);
        } else {
            canvas.text(matrix.names[k], {left + centre, top + side + 10}, label_style, HAlign::center, VAlign::top);
        }
    }
    const TextStyle axis_title{0.6, 2, black};
    canvas.text("Predicted", {left + side / 2, top + side + 18 + column_label_depth + 14}, axis_title, HAlign::center,
                VAlign::top);
    canvas.vertical_text("Actual", {left - widest_name - 30, top + side / 2}, axis_title);

    // Colour bar: the count each shade stands for.
    const cv::Rect2d bar{left + side + bar_gap, top, bar_width, side};
    const int steps = static_cast<int>(side);
    for (int s = 0; s < steps; ++s)
        canvas.filled_rectangle({bar.x, bar.y + bar.height - (s + 1.0), bar.width, 1.0}, blues((s + 0.5) / steps));
    canvas.rectangle(bar, dark_gray, 1);
    Ticks bar_ticks = largest >= 4 ? integer_ticks(0, scale_top, 5) : integer_ticks(0, scale_top, 2);
    for (double v : bar_ticks.values) {
        const double y = bar.y + bar.height - v / scale_top * bar.height;
        canvas.line({bar.x + bar.width, y}, {bar.x + bar.width + 4, y}, dark_gray, 1);
        canvas.text(format_number(v, 0), {bar.x + bar.width + 8, y}, tick_style, HAlign::left, VAlign::middle);
    }

    Figure figure;
    figure.image = canvas.finish();
    figure.axes.push_back(axes);
    figure.legends.push_back(bar);
    return figure;
}

// Writes the heat map as PNG at `path` (atomically) and returns it. The class order and
// names are the matrix's own (see typenet::confusion_matrix).
inline Figure plot_confusion_matrix(const ConfusionMatrix& matrix, const std::filesystem::path& path,
                                    std::string_view title = "Confusion Matrix") {
    return written(render_confusion_matrix(matrix, title), path);
}

}  // namespace typenet
