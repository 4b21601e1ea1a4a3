// typenet/plot/figure.hpp
// What a plot function hands back: the picture it wrote and where it put things, so a
// caller (or a test) can find a data point's pixel or the legend's box.
#pragma once

#include <filesystem>
#include <vector>

#include <opencv2/core.hpp>

#include "typenet/plot/axes.hpp"
#include "typenet/plot/png_file.hpp"

namespace typenet {

struct Figure {
    cv::Mat image;                     // 8-bit BGR, exactly what was written to the PNG
    std::vector<plotting::Axes> axes;  // one per panel, left to right
    std::vector<cv::Rect2d> legends;   // legend boxes, one per panel that has one
};

// Writes the figure's image as PNG at `path` (atomically) and returns the figure: what
// every plot_* function does with its render_* result.
inline Figure written(Figure figure, const std::filesystem::path& path) {
    write_png(figure.image, path);
    return figure;
}

}  // namespace typenet
