// typenet/plot/feature_map.hpp
// One image's activations at a layer, shape (H, W, C), as a grid of its first channels.
// Each channel is scaled to [0, 1] on its own (min to max) and shown in viridis, as
// matplotlib's imshow shows the chapter's VGG-16 block5_pool map (1, 4, 4, 512).
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

#include "typenet/plot/colormap.hpp"
#include "typenet/plot/figure.hpp"
#include "typenet/plot/image_grid.hpp"
#include "typenet/plot/png_file.hpp"

namespace typenet {

// Channel `channel` of an HWC activation scaled to [0, 1]; a constant channel reads 0.
inline std::vector<float> normalized_channel(std::span<const float> activation, int height, int width, int channels,
                                             int channel) {
    const std::size_t pixels = static_cast<std::size_t>(height) * static_cast<std::size_t>(width);
    std::vector<float> values(pixels);
    for (std::size_t p = 0; p < pixels; ++p) values[p] = activation[p * static_cast<std::size_t>(channels) + channel];
    const auto [low, high] = std::minmax_element(values.begin(), values.end());
    const float lo = *low, span = *high - *low;
    for (float& v : values) v = span > 0 ? (v - lo) / span : 0.0f;
    return values;
}

// `activation` holds H*W*C floats (one sample, channels last). Shows channels
// 0 .. min(C, max_channels) - 1 in `columns` columns.
inline Figure render_feature_map(std::span<const float> activation, int height, int width, int channels,
                                 std::string_view title = "Feature map", int max_channels = 64, int columns = 8) {
    if (height <= 0 || width <= 0 || channels <= 0)
        throw std::invalid_argument("plot_feature_map: shape (" + std::to_string(height) + ", " +
                                    std::to_string(width) + ", " + std::to_string(channels) + ") must be positive");
    const std::size_t expected =
        static_cast<std::size_t>(height) * static_cast<std::size_t>(width) * static_cast<std::size_t>(channels);
    if (activation.size() != expected)
        throw std::invalid_argument("plot_feature_map: " + std::to_string(activation.size()) + " values for shape (" +
                                    std::to_string(height) + ", " + std::to_string(width) + ", " +
                                    std::to_string(channels) + "), which needs " + std::to_string(expected));
    for (std::size_t i = 0; i < activation.size(); ++i)
        if (!std::isfinite(activation[i]))
            throw std::invalid_argument("plot_feature_map: value " + std::to_string(i) + " is not finite");
    if (max_channels <= 0) throw std::invalid_argument("plot_feature_map: max_channels must be at least 1");

    const int shown = std::min(channels, max_channels);
    std::vector<cv::Mat> images;
    std::vector<std::string> labels;
    for (int c = 0; c < shown; ++c) {
        const auto values = normalized_channel(activation, height, width, channels, c);
        cv::Mat gray(height, width, CV_8UC1);
        for (std::size_t p = 0; p < values.size(); ++p)
            gray.ptr<std::uint8_t>()[p] = static_cast<std::uint8_t>(std::lround(values[p] * 255.0f));
        images.push_back(plotting::viridis(gray));
        labels.push_back("ch " + std::to_string(c));
    }
    const std::string subtitle = "(" + std::to_string(height) + ", " + std::to_string(width) + ", " +
                                 std::to_string(channels) + "): channels 0-" + std::to_string(shown - 1) + " of " +
                                 std::to_string(channels) + ", each scaled to its own min..max";
    return plotting::draw_image_grid(images, columns, labels, title, subtitle, 0);
}

inline Figure plot_feature_map(std::span<const float> activation, int height, int width, int channels,
                               const std::filesystem::path& path, std::string_view title = "Feature map",
                               int max_channels = 64, int columns = 8) {
    return written(render_feature_map(activation, height, width, channels, title, max_channels, columns), path);
}

}  // namespace typenet
