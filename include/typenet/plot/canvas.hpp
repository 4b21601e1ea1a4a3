// typenet/plot/canvas.hpp
// A white drawing surface with text alignment, rotated text, dashed and sub-pixel
// anti-aliased lines. It draws at twice the final size and shrinks at the end, so that
// Hershey text and thin lines come out smooth; callers work in final-image pixels.
#pragma once

#include <algorithm>
#include <cmath>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace typenet::plotting {

using Color = cv::Scalar;  // OpenCV order: blue, green, red

inline const Color black{0, 0, 0};
inline const Color white{255, 255, 255};
inline const Color dark_gray{60, 60, 60};
inline const Color mid_gray{150, 150, 150};
inline const Color light_gray{228, 228, 228};

// matplotlib's "tab10" cycle: the chapter's plots use its first two (blue train, orange validation).
inline Color series_color(std::size_t index) {
    static const Color palette[] = {{180, 119, 31}, {14, 127, 255},  {44, 160, 44},   {40, 39, 214},  {189, 103, 148},
                                    {75, 86, 140},  {194, 119, 227}, {127, 127, 127}, {34, 189, 188}, {207, 190, 23}};
    return palette[index % std::size(palette)];
}

struct TextStyle {
    double size = 0.5;  // Hershey font scale: 0.5 is about 11 px capital height
    int weight = 1;     // stroke thickness in final pixels
    Color color = dark_gray;
};

enum class HAlign { left, center, right };
enum class VAlign { top, middle, baseline, bottom };

class Canvas {
public:
    Canvas(int width, int height, int supersample = 2) : width_(width), height_(height), scale_(supersample) {
        if (width <= 0 || height <= 0 || supersample <= 0)
            throw std::invalid_argument("Canvas: bad size " + std::to_string(width) + "x" + std::to_string(height));
        pixels_ = cv::Mat(height * scale_, width * scale_, CV_8UC3, white);
    }

    int width() const { return width_; }
    int height() const { return height_; }

    void line(cv::Point2d a, cv::Point2d b, const Color& color, double thickness = 1) {
        cv::line(pixels_, fixed(a), fixed(b), color, physical_thickness(thickness), cv::LINE_AA, fraction_bits);
    }

    void dashed_line(cv::Point2d a, cv::Point2d b, const Color& color, double thickness = 1, double dash = 8,
                     double gap = 6) {
        const double length = std::hypot(b.x - a.x, b.y - a.y);
        if (length == 0) return;
        const cv::Point2d step = (b - a) * (1.0 / length);
        for (double from = 0; from < length; from += dash + gap)
            line(a + step * from, a + step * std::min(from + dash, length), color, thickness);
    }

    void polyline(std::span<const cv::Point2d> points, const Color& color, double thickness = 1) {
        if (points.size() < 2) return;
        std::vector<cv::Point> fixed_points;
        for (const auto& p : points) fixed_points.push_back(fixed(p));
        cv::polylines(pixels_, fixed_points, false, color, physical_thickness(thickness), cv::LINE_AA, fraction_bits);
    }

    void filled_rectangle(const cv::Rect2d& r, const Color& color) {
        cv::rectangle(pixels_, physical(r), color, cv::FILLED);
    }

    void rectangle(const cv::Rect2d& r, const Color& color, double thickness = 1) {
        cv::rectangle(pixels_, physical(r), color, physical_thickness(thickness), cv::LINE_8);
    }

    void filled_circle(cv::Point2d centre, double radius, const Color& color) {
        cv::circle(pixels_, fixed(centre), static_cast<int>(std::lround(radius * scale_ * (1 << fraction_bits))), color,
                   cv::FILLED, cv::LINE_AA, fraction_bits);
    }

    // Size of `text` in final pixels: width, and height from the top of capitals to the baseline.
    cv::Size2d text_size(std::string_view text, const TextStyle& style) const {
        int baseline = 0;
        const cv::Size size =
            cv::getTextSize(std::string(text), font, style.size * scale_, style.weight * scale_, &baseline);
        return {static_cast<double>(size.width) / scale_, static_cast<double>(size.height) / scale_};
    }

    void text(std::string_view text, cv::Point2d anchor, const TextStyle& style, HAlign h = HAlign::left,
              VAlign v = VAlign::baseline) {
        int baseline = 0;
        const std::string s(text);
        const cv::Size size = cv::getTextSize(s, font, style.size * scale_, style.weight * scale_, &baseline);
        cv::Point2d origin = anchor * scale_;
        origin.x -= h == HAlign::center ? size.width / 2.0 : h == HAlign::right ? size.width : 0.0;
        origin.y += v == VAlign::top      ? size.height
                    : v == VAlign::middle ? size.height / 2.0
                    : v == VAlign::bottom ? -baseline
                                          : 0.0;
        cv::putText(pixels_, s,
                    cv::Point(static_cast<int>(std::lround(origin.x)), static_cast<int>(std::lround(origin.y))), font,
                    style.size * scale_, style.color, style.weight * scale_, cv::LINE_AA);
    }

    // Text turned a quarter to the left (read bottom to top), centred on `centre`: y-axis titles.
    void vertical_text(std::string_view text, cv::Point2d centre, const TextStyle& style) {
        int baseline = 0;
        const std::string s(text);
        const int thickness = style.weight * scale_;
        const cv::Size size = cv::getTextSize(s, font, style.size * scale_, thickness, &baseline);
        const int pad = 2 * thickness;
        cv::Mat strip(size.height + baseline + 2 * pad, size.width + 2 * pad, CV_8UC3, white);
        cv::putText(strip, s, cv::Point(pad, pad + size.height), font, style.size * scale_, style.color, thickness,
                    cv::LINE_AA);
        cv::Mat turned;
        cv::rotate(strip, turned, cv::ROTATE_90_COUNTERCLOCKWISE);
        const cv::Point top_left(static_cast<int>(std::lround(centre.x * scale_ - turned.cols / 2.0)),
                                 static_cast<int>(std::lround(centre.y * scale_ - turned.rows / 2.0)));
        blend_darker(turned, top_left);
    }

    // Pastes a BGR image into `where` (final pixels), scaled with `interpolation`.
    void image(const cv::Mat& bgr, const cv::Rect2d& where, int interpolation) {
        const cv::Rect target = physical(where);
        if (target.width <= 0 || target.height <= 0 || bgr.empty()) return;
        cv::Mat scaled;
        cv::resize(bgr, scaled, target.size(), 0, 0, interpolation);
        const cv::Rect visible = target & cv::Rect(0, 0, pixels_.cols, pixels_.rows);
        scaled(cv::Rect(visible.tl() - target.tl(), visible.size())).copyTo(pixels_(visible));
    }

    // The finished picture at its final size.
    cv::Mat finish() const {
        cv::Mat out;
        cv::resize(pixels_, out, cv::Size(width_, height_), 0, 0, cv::INTER_AREA);
        return out;
    }

private:
    static constexpr int font = cv::FONT_HERSHEY_SIMPLEX;
    static constexpr int fraction_bits = 3;  // sub-pixel precision of line end points

    cv::Point fixed(cv::Point2d p) const {
        const double unit = scale_ * (1 << fraction_bits);
        return {static_cast<int>(std::lround(p.x * unit)), static_cast<int>(std::lround(p.y * unit))};
    }
    cv::Rect physical(const cv::Rect2d& r) const {
        const int x0 = static_cast<int>(std::lround(r.x * scale_)), y0 = static_cast<int>(std::lround(r.y * scale_));
        const int x1 = static_cast<int>(std::lround((r.x + r.width) * scale_));
        const int y1 = static_cast<int>(std::lround((r.y + r.height) * scale_));
        return {x0, y0, x1 - x0, y1 - y0};
    }
    int physical_thickness(double thickness) const {
        return std::max(1, static_cast<int>(std::lround(thickness * scale_)));
    }
    // Dark-on-white overlay: keeps what is already drawn underneath.
    void blend_darker(const cv::Mat& patch, cv::Point top_left) {
        const cv::Rect target(top_left, patch.size());
        const cv::Rect visible = target & cv::Rect(0, 0, pixels_.cols, pixels_.rows);
        if (visible.empty()) return;
        cv::Mat destination = pixels_(visible);
        cv::min(destination, patch(cv::Rect(visible.tl() - target.tl(), visible.size())), destination);
    }

    int width_, height_, scale_;
    cv::Mat pixels_;
};

}  // namespace typenet::plotting
