// typenet/layers/padding.hpp
// Padding modes, with TensorFlow's exact arithmetic for 'same'.
#pragma once

#include <cstddef>
#include <string_view>
#include <type_traits>

namespace typenet {

// No padding: the window stays inside the input; out = floor((in - k) / s) + 1.
struct Valid {
    static constexpr std::string_view name = "valid";
    static constexpr std::size_t out(std::size_t in, std::size_t k, std::size_t s) {
        return in >= k ? (in - k) / s + 1 : 1;  // 1 on misuse: the layer reports it, nothing cascades
    }
    static constexpr std::size_t pad_before(std::size_t, std::size_t, std::size_t) { return 0; }
};

// TensorFlow 'same': out = ceil(in / s); total pad = max((out - 1) * s + k - in, 0),
// the smaller half before (top/left), the larger after (bottom/right).
struct Same {
    static constexpr std::string_view name = "same";
    static constexpr std::size_t out(std::size_t in, std::size_t, std::size_t s) { return (in + s - 1) / s; }
    static constexpr std::size_t total_pad(std::size_t in, std::size_t k, std::size_t s) {
        const std::size_t needed = (out(in, k, s) - 1) * s + k;
        return needed > in ? needed - in : 0;
    }
    static constexpr std::size_t pad_before(std::size_t in, std::size_t k, std::size_t s) {
        return total_pad(in, k, s) / 2;
    }
};

template <class T>
inline constexpr bool is_padding_v = std::is_same_v<T, Valid> || std::is_same_v<T, Same>;

}  // namespace typenet
