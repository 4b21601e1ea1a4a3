// typenet/plot/image_grid.hpp
// Images in a grid with a caption under each: the chapter's augmented variants of one
// picture side by side, or the channels of a feature map. Small images are enlarged by a
// whole factor with nearest-neighbour sampling, so their pixels stay sharp squares.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "typenet/plot/axes.hpp"
#include "typenet/plot/canvas.hpp"
#include "typenet/plot/figure.hpp"
#include "typenet/plot/png_file.hpp"

namespace typenet {

// A borrowed HWC image, RGB or grey: float in [0, 1] (typenet's preprocessed images; values
// outside are clipped, as matplotlib does) or 8-bit.
struct ImageView {
    std::span<const float> float_pixels;
    std::span<const std::uint8_t> byte_pixels;
    int height = 0, width = 0, channels = 0;  // channels: 1 (grey) or 3 (RGB)

    ImageView(std::span<const float> pixels, int h, int w, int c)
        : float_pixels(pixels), height(h), width(w), channels(c) {}
    ImageView(std::span<const std::uint8_t> pixels, int h, int w, int c)
        : byte_pixels(pixels), height(h), width(w), channels(c) {}
};

namespace plotting {

// The image as 8-bit BGR; `what` names it in errors ("image 3").
inline cv::Mat to_bgr(const ImageView& image, const std::string& what) {
    if (image.height <= 0 || image.width <= 0 || (image.channels != 1 && image.channels != 3))
        throw std::invalid_argument(what + ": shape (" + std::to_string(image.height) + ", " +
                                    std::to_string(image.width) + ", " + std::to_string(image.channels) +
                                    ") is not an HWC image with 1 or 3 channels");
    const std::size_t expected = static_cast<std::size_t>(image.height) * static_cast<std::size_t>(image.width) *
                                 static_cast<std::size_t>(image.channels);
    const bool is_float = !image.float_pixels.empty();
    const std::size_t given = is_float ? image.float_pixels.size() : image.byte_pixels.size();
    if (given != expected)
        throw std::invalid_argument(what + ": " + std::to_string(given) + " values for shape (" +
                                    std::to_string(image.height) + ", " + std::to_string(image.width) + ", " +
                                    std::to_string(image.channels) + "), which needs " + std::to_string(expected));
    const int type = image.channels == 1 ? CV_8UC1 : CV_8UC3;
    cv::Mat bytes(image.height, image.width, type);
    auto* out = bytes.ptr<std::uint8_t>();
    for (std::size_t i = 0; i < expected; ++i) {
        if (!is_float) {
            out[i] = image.byte_pixels[i];
            continue;
        }
        const float v = image.float_pixels[i];
        if (std::isnan(v)) throw std::invalid_argument(what + ": value " + std::to_string(i) + " is NaN");
        out[i] = static_cast<std::uint8_t>(std::lround(std::clamp(v, 0.0f, 1.0f) * 255.0f));
    }
    cv::Mat bgr;
    cv::cvtColor(bytes, bgr, image.channels == 1 ? cv::COLOR_GRAY2BGR : cv::COLOR_RGB2BGR);
    return bgr;
}

// Shortens `text` with "..." until it fits `width` pixels.
inline std::string fit_text(const Canvas& canvas, std::string text, const TextStyle& style, double width) {
    if (canvas.text_size(text, style).width <= width) return text;
    while (!text.empty() && canvas.text_size(text + "...", style).width > width) text.pop_back();
    return text + "...";
}

// Lays out BGR images in `columns` columns. Figure::axes[i] maps (x + 0.5, y + 0.5) to the
// centre of pixel (x, y) of image i.
inline Figure draw_image_grid(const std::vector<cv::Mat>& images, int columns, const std::vector<std::string>& labels,
                              std::string_view title, std::string_view subtitle, int cell_size) {
    if (images.empty()) throw std::invalid_argument("plot_image_grid: no images");
    if (columns <= 0)
        throw std::invalid_argument("plot_image_grid: columns must be at least 1, got " + std::to_string(columns));
    if (!labels.empty() && labels.size() != images.size())
        throw std::invalid_argument("plot_image_grid: " + std::to_string(labels.size()) + " labels for " +
                                    std::to_string(images.size()) + " images");
    int largest = 0;
    for (const auto& m : images) largest = std::max({largest, m.rows, m.cols});
    // Auto size: small images grow by a whole factor to about 96 px, big ones shrink to 320.
    const double cell = cell_size > 0   ? cell_size
                        : largest < 96  ? largest * std::ceil(96.0 / largest)
                        : largest > 320 ? 320.0
                                        : static_cast<double>(largest);

    const int cols = std::min<int>(columns, static_cast<int>(images.size()));
    const int rows =
        static_cast<int>((images.size() + static_cast<std::size_t>(cols) - 1) / static_cast<std::size_t>(cols));
    // Each image fits a cell x cell square; a row is as tall as its tallest image, so
    // captions sit right under landscape pictures too.
    const auto fit_of = [&](const cv::Mat& m) { return cell / std::max(m.rows, m.cols); };
    std::vector<double> row_height(static_cast<std::size_t>(rows), 0.0);
    for (std::size_t i = 0; i < images.size(); ++i) {
        double& h = row_height[i / static_cast<std::size_t>(cols)];
        h = std::max(h, std::round(images[i].rows * fit_of(images[i])));
    }
    const double margin = 22, gap = 14, label_height = labels.empty() ? 0 : 24;
    const double header =
        (title.empty() ? 0 : 56) + (subtitle.empty() ? 0 : 24) + (title.empty() && subtitle.empty() ? margin : 0);
    const Canvas measure(1, 1);
    const double grid_width = cols * cell + (cols - 1) * gap;
    const double title_width = std::max(measure.text_size(title, plotting::figure_title_style).width,
                                        measure.text_size(subtitle, plotting::label_style).width);
    const double width = std::max(grid_width, title_width) + 2 * margin;
    double height = header + margin + (rows - 1) * gap;
    for (double h : row_height) height += h + label_height;

    plotting::Canvas canvas(static_cast<int>(std::ceil(width)), static_cast<int>(std::ceil(height)));
    if (!title.empty())
        canvas.text(title, {width / 2, 20}, plotting::figure_title_style, plotting::HAlign::center,
                    plotting::VAlign::top);
    if (!subtitle.empty())
        canvas.text(subtitle, {width / 2, title.empty() ? 16.0 : 52.0}, plotting::label_style, plotting::HAlign::center,
                    plotting::VAlign::top);
    const double x0 = (width - grid_width) / 2;
    Figure figure;
    double row_top = header;
    for (std::size_t i = 0; i < images.size(); ++i) {
        const std::size_t r = i / static_cast<std::size_t>(cols), c = i % static_cast<std::size_t>(cols);
        if (c == 0 && r > 0) row_top += row_height[r - 1] + label_height + gap;
        const double cell_x = x0 + static_cast<double>(c) * (cell + gap);
        const cv::Mat& image = images[i];
        const double fit = fit_of(image);
        const double w = std::round(image.cols * fit), h = std::round(image.rows * fit);
        Axes axes;
        axes.area = {std::round(cell_x + (cell - w) / 2), std::round(row_top + (row_height[r] - h) / 2), w, h};
        axes.x_min = 0;
        axes.x_max = image.cols;
        axes.y_min = image.rows;
        axes.y_max = 0;
        canvas.image(image, axes.area, fit >= 1 ? cv::INTER_NEAREST : cv::INTER_AREA);
        canvas.rectangle(axes.area, plotting::mid_gray, 1);
        if (!labels.empty())
            canvas.text(fit_text(canvas, labels[i], plotting::label_style, cell),
                        {cell_x + cell / 2, row_top + row_height[r] + 8}, plotting::label_style,
                        plotting::HAlign::center, plotting::VAlign::top);
        figure.axes.push_back(axes);
    }
    figure.image = canvas.finish();
    return figure;
}

}  // namespace plotting

// `labels` (one per image, or none) go under the images; `cell_size` 0 picks a size from
// the largest image.
inline Figure render_image_grid(std::span<const ImageView> images, int columns,
                                const std::vector<std::string>& labels = {}, std::string_view title = "",
                                int cell_size = 0) {
    std::vector<cv::Mat> bgr;
    for (std::size_t i = 0; i < images.size(); ++i)
        bgr.push_back(plotting::to_bgr(images[i], "plot_image_grid: image " + std::to_string(i)));
    return plotting::draw_image_grid(bgr, columns, labels, title, "", cell_size);
}

inline Figure plot_image_grid(std::span<const ImageView> images, int columns, const std::vector<std::string>& labels,
                              const std::filesystem::path& path, std::string_view title = "", int cell_size = 0) {
    return written(render_image_grid(images, columns, labels, title, cell_size), path);
}

}  // namespace typenet
