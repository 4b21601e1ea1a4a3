// typenet/plot/axes.hpp
// A rectangle of the canvas mapped to data coordinates, with matplotlib-like furniture:
// "nice" tick values (1, 2, 2.5, 5 times a power of ten), grid, frame, tick labels,
// axis titles, and a legend that can find the corner where it hides the least data.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>

#include "typenet/plot/canvas.hpp"

namespace typenet::plotting {

struct Axes {
    cv::Rect2d area;  // plotting rectangle, final-image pixels
    double x_min = 0, x_max = 1, y_min = 0, y_max = 1;

    // Pixel position of a data point (y grows upwards in data, downwards in the image).
    cv::Point2d to_pixel(double x, double y) const {
        return {area.x + (x - x_min) / (x_max - x_min) * area.width,
                area.y + area.height - (y - y_min) / (y_max - y_min) * area.height};
    }
};

struct Ticks {
    std::vector<double> values;
    int decimals = 0;  // enough to tell neighbouring ticks apart
};

inline std::string format_number(double value, int decimals) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
    std::string text = buffer;
    if (text.find_first_not_of("-0.") == std::string::npos && text.front() == '-') text.erase(0, 1);  // no "-0.0"
    return text;
}

// About `target` round-numbered ticks inside [low, high].
inline Ticks nice_ticks(double low, double high, int target = 6) {
    if (!(high > low) || !std::isfinite(low) || !std::isfinite(high)) return {{low}, 2};
    const double rough = (high - low) / std::max(1, target);
    const double magnitude = std::pow(10.0, std::floor(std::log10(rough)));
    double step = 10 * magnitude;
    for (double factor : {1.0, 2.0, 2.5, 5.0, 10.0})
        if (factor * magnitude >= rough) {
            step = factor * magnitude;
            break;
        }
    Ticks ticks;
    ticks.decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
    if (std::abs(step / std::pow(10.0, -ticks.decimals) - std::round(step / std::pow(10.0, -ticks.decimals))) > 1e-6)
        ++ticks.decimals;  // steps like 0.25 need one more digit
    for (double v = std::ceil(low / step - 1e-9) * step; v <= high + step * 1e-9; v += step)
        ticks.values.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
    return ticks;
}

// Whole-number ticks for counts such as epochs (never 2.5 epochs).
inline Ticks integer_ticks(double low, double high, int target = 8) {
    const Ticks nice = nice_ticks(low, high, target);
    double step = nice.values.size() >= 2 ? nice.values[1] - nice.values[0] : 1.0;
    step = step < 1 ? 1.0 : std::floor(step + 1e-9);  // 0.5 -> 1, 2.5 -> 2
    Ticks ticks;
    for (double v = std::ceil(low / step - 1e-9) * step; v <= high + 1e-9; v += step) ticks.values.push_back(v);
    return ticks;
}

// [low, high] widened by `fraction` of its span on both sides (a flat series gets a span of 1).
inline std::pair<double, double> padded_range(double low, double high, double fraction = 0.05) {
    if (!(high > low)) {
        const double half = std::max(0.5, std::abs(low) * 0.1);
        return {low - half, low + half};
    }
    const double pad = (high - low) * fraction;
    return {low - pad, high + pad};
}

// Smallest and largest finite values of several series.
inline std::pair<double, double> finite_range(std::initializer_list<std::span<const double>> series) {
    double low = std::numeric_limits<double>::infinity(), high = -low;
    for (const auto& values : series)
        for (double v : values)
            if (std::isfinite(v)) {
                low = std::min(low, v);
                high = std::max(high, v);
            }
    if (low > high) return {0.0, 1.0};  // nothing finite: an empty unit range
    return {low, high};
}

inline const TextStyle tick_style{0.42, 1, dark_gray};
inline const TextStyle label_style{0.52, 1, black};
inline const TextStyle title_style{0.6, 1, black};
inline const TextStyle figure_title_style{0.72, 2, black};

// Grid lines under the data.
inline void draw_grid(Canvas& canvas, const Axes& axes, const Ticks& x, const Ticks& y) {
    for (double v : x.values) {
        const double px = axes.to_pixel(v, axes.y_min).x;
        canvas.line({px, axes.area.y}, {px, axes.area.y + axes.area.height}, light_gray, 1);
    }
    for (double v : y.values) {
        const double py = axes.to_pixel(axes.x_min, v).y;
        canvas.line({axes.area.x, py}, {axes.area.x + axes.area.width, py}, light_gray, 1);
    }
}

// Frame, tick marks and numbers, axis titles and the panel title, over the data.
inline void draw_frame(Canvas& canvas, const Axes& axes, const Ticks& x, const Ticks& y, const std::string& title,
                       const std::string& x_label, const std::string& y_label) {
    const cv::Rect2d& a = axes.area;
    canvas.rectangle(a, dark_gray, 1);
    const double tick = 5;
    for (double v : x.values) {
        const double px = axes.to_pixel(v, axes.y_min).x;
        canvas.line({px, a.y + a.height}, {px, a.y + a.height + tick}, dark_gray, 1);
        canvas.text(format_number(v, x.decimals), {px, a.y + a.height + tick + 5}, tick_style, HAlign::center,
                    VAlign::top);
    }
    double widest = 0;
    for (double v : y.values) {
        const double py = axes.to_pixel(axes.x_min, v).y;
        canvas.line({a.x - tick, py}, {a.x, py}, dark_gray, 1);
        const std::string label = format_number(v, y.decimals);
        widest = std::max(widest, canvas.text_size(label, tick_style).width);
        canvas.text(label, {a.x - tick - 5, py}, tick_style, HAlign::right, VAlign::middle);
    }
    const double tick_text_height = canvas.text_size("0", tick_style).height;
    if (!x_label.empty())
        canvas.text(x_label, {a.x + a.width / 2, a.y + a.height + tick + 5 + tick_text_height + 12}, label_style,
                    HAlign::center, VAlign::top);
    if (!y_label.empty())
        canvas.vertical_text(y_label, {a.x - tick - 5 - widest - 18, a.y + a.height / 2}, label_style);
    if (!title.empty()) canvas.text(title, {a.x + a.width / 2, a.y - 12}, title_style, HAlign::center, VAlign::bottom);
}

// A series as a line through its points; non-finite values break the line. Small dots
// mark the points when there are few enough to tell apart.
inline void draw_series(Canvas& canvas, const Axes& axes, std::span<const double> xs, std::span<const double> ys,
                        const Color& color, double thickness = 2) {
    const std::size_t n = std::min(xs.size(), ys.size());
    const bool dots = n <= 40 && n * 12 <= static_cast<std::size_t>(axes.area.width);
    std::vector<cv::Point2d> run;
    const auto flush = [&] {
        if (run.size() == 1) canvas.filled_circle(run.front(), thickness + 1, color);
        canvas.polyline(run, color, thickness);
        run.clear();
    };
    for (std::size_t i = 0; i < n; ++i) {
        if (!std::isfinite(xs[i]) || !std::isfinite(ys[i])) {
            flush();
            continue;
        }
        run.push_back(axes.to_pixel(xs[i], ys[i]));
        if (dots) canvas.filled_circle(run.back(), thickness + 1, color);
    }
    flush();
}

// Pixels along a series' line, every few pixels: what a legend should not cover.
inline void sample_series(const Axes& axes, std::span<const double> xs, std::span<const double> ys,
                          std::vector<cv::Point2d>& out) {
    const std::size_t n = std::min(xs.size(), ys.size());
    for (std::size_t i = 0; i + 1 < n; ++i) {
        if (!std::isfinite(xs[i]) || !std::isfinite(ys[i]) || !std::isfinite(xs[i + 1]) || !std::isfinite(ys[i + 1]))
            continue;
        const cv::Point2d a = axes.to_pixel(xs[i], ys[i]), b = axes.to_pixel(xs[i + 1], ys[i + 1]);
        const int steps = std::max(1, static_cast<int>(std::hypot(b.x - a.x, b.y - a.y) / 3));
        for (int s = 0; s <= steps; ++s) out.push_back(a + (b - a) * (static_cast<double>(s) / steps));
    }
    if (n == 1 && std::isfinite(xs[0]) && std::isfinite(ys[0])) out.push_back(axes.to_pixel(xs[0], ys[0]));
}

struct LegendEntry {
    std::string label;
    Color color;
    bool dashed = false;
};

enum class LegendPlace { best, upper_right, upper_left, lower_left, lower_right };

// Draws the legend inside the axes and returns its box. `best` takes the corner that
// covers the fewest of `avoid` (matplotlib's loc="best", in its order of preference).
inline cv::Rect2d draw_legend(Canvas& canvas, const Axes& axes, std::span<const LegendEntry> entries, LegendPlace place,
                              std::span<const cv::Point2d> avoid = {}) {
    if (entries.empty()) return {};
    const double pad = 8, sample = 26, gap = 8, row = 22;
    double text_width = 0;
    for (const auto& e : entries) text_width = std::max(text_width, canvas.text_size(e.label, label_style).width);
    const double w = pad + sample + gap + text_width + pad, h = pad * 2 + row * static_cast<double>(entries.size()) - 4;
    const cv::Rect2d& a = axes.area;
    const double inset = 10;
    const auto box_at = [&](LegendPlace p) {
        const bool right = p == LegendPlace::upper_right || p == LegendPlace::lower_right;
        const bool upper = p == LegendPlace::upper_right || p == LegendPlace::upper_left;
        return cv::Rect2d(right ? a.x + a.width - inset - w : a.x + inset,
                          upper ? a.y + inset : a.y + a.height - inset - h, w, h);
    };
    if (place == LegendPlace::best) {
        std::size_t fewest = std::numeric_limits<std::size_t>::max();
        for (LegendPlace p :
             {LegendPlace::upper_right, LegendPlace::upper_left, LegendPlace::lower_left, LegendPlace::lower_right}) {
            const cv::Rect2d box = box_at(p);
            const auto covered = static_cast<std::size_t>(
                std::count_if(avoid.begin(), avoid.end(), [&](const cv::Point2d& q) { return box.contains(q); }));
            if (covered < fewest) {
                fewest = covered;
                place = p;
            }
        }
    }
    const cv::Rect2d box = box_at(place);
    canvas.filled_rectangle(box, white);
    canvas.rectangle(box, mid_gray, 1);
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const double y = box.y + pad + row * (static_cast<double>(i) + 0.5) - 2;
        const cv::Point2d from{box.x + pad, y}, to{box.x + pad + sample, y};
        if (entries[i].dashed)
            canvas.dashed_line(from, to, entries[i].color, 2, 6, 4);
        else
            canvas.line(from, to, entries[i].color, 2.5);
        canvas.text(entries[i].label, {to.x + gap, y}, label_style, HAlign::left, VAlign::middle);
    }
    return box;
}

}  // namespace typenet::plotting
