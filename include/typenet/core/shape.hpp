// typenet/core/shape.hpp
// Per-sample shapes as types. The batch size is the only runtime dimension, so
// Shape<150, 150, 3> is one image (NHWC without the N) and Shape<8192> a flat vector.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <type_traits>

namespace typenet {

template <std::size_t... Dims>
struct Shape {
    static constexpr std::size_t rank = sizeof...(Dims);
    static constexpr std::size_t size = (std::size_t{1} * ... * Dims);
    static constexpr std::array<std::size_t, rank> dims{Dims...};

    // Keras's printed form with the batch axis, e.g. "(None, 148, 148, 16)".
    static std::string keras_string() {
        std::string text = "(None";
        ((text += ", " + std::to_string(Dims)), ...);
        return text + ")";
    }
};

// Whether T is Template<N...> for some sizes N (Shape<...>, Input<...>).
template <class T, template <std::size_t...> class Template>
struct is_sizes_of : std::false_type {};
template <template <std::size_t...> class Template, std::size_t... N>
struct is_sizes_of<Template<N...>, Template> : std::true_type {};

template <class T>
inline constexpr bool is_shape_v = is_sizes_of<T, Shape>::value;

// An image-like shape: height, width, channels.
template <class S>
concept ImageShape = is_shape_v<S> && S::rank == 3;

// Axis access that never fails to compile: a missing axis reads as 1, so a
// layer that has already reported a rank error does not cascade into more.
template <class S, std::size_t Axis>
inline constexpr std::size_t dim_or_one = Axis < S::rank ? S::dims[Axis < S::rank ? Axis : 0] : 1;

}  // namespace typenet
