// typenet/plot/roc_curve.hpp
// ROC curves (false positive rate against true positive rate) with the diagonal of a
// classifier that guesses, one or several curves, each with its AUC in the legend.
#pragma once

#include <cstdio>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

#include "typenet/metrics/roc.hpp"
#include "typenet/plot/axes.hpp"
#include "typenet/plot/canvas.hpp"
#include "typenet/plot/figure.hpp"
#include "typenet/plot/png_file.hpp"

namespace typenet {

struct NamedRocCurve {
    std::string name;  // legend label, e.g. the model's name
    RocCurve curve;
};

inline Figure render_roc_curve(std::span<const NamedRocCurve> curves,
                               std::string_view title = "Receiver Operating Characteristic (ROC) Curve") {
    using namespace plotting;
    if (curves.empty()) throw std::invalid_argument("plot_roc_curve: no curves to draw");
    std::vector<LegendEntry> legend;
    std::vector<double> areas;
    for (const auto& c : curves) {
        if (c.curve.fpr.size() != c.curve.tpr.size() || c.curve.fpr.size() < 2)
            throw std::invalid_argument(
                "plot_roc_curve: curve '" + c.name + "' has " + std::to_string(c.curve.fpr.size()) + " FPR and " +
                std::to_string(c.curve.tpr.size()) + " TPR values; it needs the same number, at least 2");
        areas.push_back(auc(c.curve));
    }

    Canvas canvas(700, 625);
    Axes axes;
    axes.area = {95, 75, 560, 480};
    // A little room past 0 and 1 so that a curve along the frame stays visible.
    axes.x_min = -0.01;
    axes.x_max = 1.01;
    axes.y_min = -0.01;
    axes.y_max = 1.05;
    const Ticks ticks = nice_ticks(0, 1, 5);
    canvas.text(title, {canvas.width() / 2.0, 22}, figure_title_style, HAlign::center, VAlign::top);
    draw_grid(canvas, axes, ticks, ticks);
    canvas.dashed_line(axes.to_pixel(0, 0), axes.to_pixel(1, 1), dark_gray, 1.5);
    for (std::size_t k = 0; k < curves.size(); ++k) {
        draw_series(canvas, axes, curves[k].curve.fpr, curves[k].curve.tpr, series_color(k), 2.5);
        char area[32];
        std::snprintf(area, sizeof area, "%.4f", areas[k]);
        legend.push_back({curves[k].name + " (AUC = " + area + ")", series_color(k)});
    }
    legend.push_back({"Chance (AUC = 0.5)", dark_gray, true});
    draw_frame(canvas, axes, ticks, ticks, "", "False Positive Rate", "True Positive Rate");

    Figure figure;
    figure.legends.push_back(draw_legend(canvas, axes, legend, LegendPlace::lower_right));
    figure.axes.push_back(axes);
    figure.image = canvas.finish();
    return figure;
}

inline Figure plot_roc_curve(std::span<const NamedRocCurve> curves, const std::filesystem::path& path,
                             std::string_view title = "Receiver Operating Characteristic (ROC) Curve") {
    return written(render_roc_curve(curves, title), path);
}

// One curve, as the chapter's plot_model_roc_curve.
inline Figure plot_roc_curve(const RocCurve& curve, const std::filesystem::path& path,
                             std::string_view title = "Receiver Operating Characteristic (ROC) Curve",
                             std::string name = "ROC curve") {
    const NamedRocCurve one[] = {{std::move(name), curve}};
    return plot_roc_curve(one, path, title);
}

}  // namespace typenet
