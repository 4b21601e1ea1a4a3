// typenet/plot/figure.hpp
// What a plot function hands back: the picture it wrote and where it put things, so a
// caller (or a test) can find a data point's pixel or the legend's box.
#pragma once

#include <vector>

#include <opencv2/core.hpp>

#include "typenet/plot/axes.hpp"

namespace typenet {

struct Figure {
    cv::Mat image;                     // 8-bit BGR, exactly what was written to the PNG
    std::vector<plotting::Axes> axes;  // one per panel, left to right
    std::vector<cv::Rect2d> legends;   // legend boxes, one per panel that has one
};

}  // namespace typenet
