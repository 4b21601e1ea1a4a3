// typenet/plot/learning_curves.hpp
// The chapter's learning-curve figure: two panels side by side, "Accuracy" (train and
// validation) and "Loss" (train and validation) against the epoch. The input is a plain
// table of per-epoch columns, so plots need nothing from the training engine.
#pragma once

#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>

#include "typenet/plot/axes.hpp"
#include "typenet/plot/canvas.hpp"
#include "typenet/plot/figure.hpp"
#include "typenet/plot/png_file.hpp"

namespace typenet {

struct NamedSeries {
    std::string name;
    std::vector<double> values;  // one per epoch; NaN leaves a gap
};

// Per-epoch columns as in Keras's History.history: "accuracy" (or Keras 2.2's "acc"),
// "val_accuracy" ("val_acc"), "loss", "val_loss"; other columns are ignored.
struct HistoryColumns {
    std::vector<int> epochs;  // x values, usually 1..N
    std::vector<NamedSeries> series;

    const NamedSeries* find(std::string_view name) const {
        for (const auto& s : series)
            if (s.name == name) return &s;
        return nullptr;
    }
};

namespace plotting {

struct CurvePanel {
    std::string title, y_label;
    std::vector<std::pair<std::string, const NamedSeries*>> lines;  // legend label, data
};

inline std::vector<CurvePanel> learning_curve_panels(const HistoryColumns& history) {
    const auto first_of = [&](std::initializer_list<std::string_view> names) -> const NamedSeries* {
        for (auto name : names)
            if (const auto* s = history.find(name)) return s;
        return nullptr;
    };
    std::vector<CurvePanel> panels;
    const auto add = [&](std::string title, std::string y_label, const NamedSeries* train,
                         const NamedSeries* validation, const std::string& what) {
        CurvePanel panel{std::move(title), std::move(y_label), {}};
        if (train) panel.lines.emplace_back("Train " + what, train);
        if (validation) panel.lines.emplace_back("Validation " + what, validation);
        if (!panel.lines.empty()) panels.push_back(std::move(panel));
    };
    add("Accuracy", "Accuracy Value", first_of({"accuracy", "acc"}), first_of({"val_accuracy", "val_acc"}), "Accuracy");
    add("Loss", "Loss Value", first_of({"loss"}), first_of({"val_loss"}), "Loss");
    return panels;
}

}  // namespace plotting

inline Figure render_learning_curves(const HistoryColumns& history, std::string_view title = "Learning Curves") {
    using namespace plotting;
    if (history.epochs.empty()) throw std::invalid_argument("plot_learning_curves: the history has no epochs");
    for (const auto& s : history.series)
        if (s.values.size() != history.epochs.size())
            throw std::invalid_argument("plot_learning_curves: column '" + s.name + "' has " +
                                        std::to_string(s.values.size()) + " values for " +
                                        std::to_string(history.epochs.size()) + " epochs");
    const auto panels = learning_curve_panels(history);
    if (panels.empty()) {
        std::string columns;
        for (const auto& s : history.series) columns += (columns.empty() ? "" : ", ") + s.name;
        throw std::invalid_argument(
            "plot_learning_curves: none of the columns accuracy/acc, val_accuracy/val_acc, "
            "loss, val_loss is in the history (it has: " +
            (columns.empty() ? std::string("nothing") : columns) + ")");
    }

    const double left = 95, right = 30, top = 100, bottom = 80, gap = 115, panel_width = 520, panel_height = 330;
    const double n = static_cast<double>(panels.size());
    Canvas canvas(static_cast<int>(left + n * panel_width + (n - 1) * gap + right),
                  static_cast<int>(top + panel_height + bottom));
    canvas.text(title, {canvas.width() / 2.0, 22}, figure_title_style, HAlign::center, VAlign::top);

    std::vector<double> epochs(history.epochs.begin(), history.epochs.end());
    const auto [first, last] = std::minmax_element(epochs.begin(), epochs.end());
    const double x_pad = std::max(0.5, (*last - *first) * 0.03);
    Figure figure;
    for (std::size_t p = 0; p < panels.size(); ++p) {
        const auto& panel = panels[p];
        Axes axes;
        axes.area = {left + static_cast<double>(p) * (panel_width + gap), top, panel_width, panel_height};
        axes.x_min = *first - x_pad;
        axes.x_max = *last + x_pad;
        double low = std::numeric_limits<double>::infinity(), high = -low;
        for (const auto& line : panel.lines) {
            const auto [lo, hi] = finite_range({line.second->values});
            low = std::min(low, lo);
            high = std::max(high, hi);
        }
        std::tie(axes.y_min, axes.y_max) = padded_range(low, high, 0.06);
        const Ticks x_ticks = integer_ticks(*first, *last, 7), y_ticks = nice_ticks(axes.y_min, axes.y_max, 6);

        draw_grid(canvas, axes, x_ticks, y_ticks);
        std::vector<LegendEntry> legend;
        std::vector<cv::Point2d> drawn;
        for (std::size_t k = 0; k < panel.lines.size(); ++k) {
            draw_series(canvas, axes, epochs, panel.lines[k].second->values, series_color(k), 2);
            sample_series(axes, epochs, panel.lines[k].second->values, drawn);
            legend.push_back({panel.lines[k].first, series_color(k)});
        }
        draw_frame(canvas, axes, x_ticks, y_ticks, panel.title, "Epoch", panel.y_label);
        figure.legends.push_back(draw_legend(canvas, axes, legend, LegendPlace::best, drawn));
        figure.axes.push_back(axes);
    }
    figure.image = canvas.finish();
    return figure;
}

// Writes the figure as PNG at `path` (atomically) and returns it.
inline Figure plot_learning_curves(const HistoryColumns& history, const std::filesystem::path& path,
                                   std::string_view title = "Learning Curves") {
    return written(render_learning_curves(history, title), path);
}

}  // namespace typenet
