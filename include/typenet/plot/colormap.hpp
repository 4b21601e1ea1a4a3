// typenet/plot/colormap.hpp
// Colour scales: matplotlib's "Blues" for counts (white = none, dark blue = many) and
// "viridis" for activations (perceptually even, readable in grey print).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace typenet::plotting {

// BGR colour for t in [0, 1] on matplotlib's 9-step "Blues" scale, linearly interpolated.
inline cv::Scalar blues(double t) {
    static constexpr std::array<std::array<double, 3>, 9> rgb{{{247, 251, 255},
                                                               {222, 235, 247},
                                                               {198, 219, 239},
                                                               {158, 202, 225},
                                                               {107, 174, 214},
                                                               {66, 146, 198},
                                                               {33, 113, 181},
                                                               {8, 81, 156},
                                                               {8, 48, 107}}};
    t = std::clamp(std::isnan(t) ? 0.0 : t, 0.0, 1.0) * (rgb.size() - 1);
    const auto low = std::min(static_cast<std::size_t>(t), rgb.size() - 2);
    const double f = t - static_cast<double>(low);
    const auto mix = [&](int k) { return rgb[low][k] * (1 - f) + rgb[low + 1][k] * f; };
    return {mix(2), mix(1), mix(0)};
}

// 8-bit single-channel image (0..255) to BGR through viridis.
inline cv::Mat viridis(const cv::Mat& gray8) {
    cv::Mat colored;
    cv::applyColorMap(gray8, colored, cv::COLORMAP_VIRIDIS);
    return colored;
}

}  // namespace typenet::plotting
