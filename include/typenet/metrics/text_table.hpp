// typenet/metrics/text_table.hpp
// Small text-layout helpers for the printed reports: padding by displayed characters
// (UTF-8 class names line up) and printf-style number formatting (GCC 12 has no std::format).
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

namespace typenet::metrics_detail {

// Characters as a terminal shows them: UTF-8 continuation bytes take no column.
inline std::size_t display_width(std::string_view text) {
    std::size_t width = 0;
    for (unsigned char byte : text) width += (byte & 0xC0) != 0x80;
    return width;
}

inline std::string pad_left(std::string_view text, std::size_t width) {
    const std::size_t shown = display_width(text);
    return std::string(shown < width ? width - shown : 0, ' ') + std::string(text);
}

inline std::string pad_right(std::string_view text, std::size_t width) {
    const std::size_t shown = display_width(text);
    return std::string(text) + std::string(shown < width ? width - shown : 0, ' ');
}

// Fixed-point with `digits` decimals, correctly rounded like Python's format(x, '.2f').
inline std::string fixed(double value, int digits) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
    return buffer;
}

}  // namespace typenet::metrics_detail
