// typenet/layers/input.hpp
// The first element of every model: the shape of one sample.
//   Input<150, 150, 3>   an RGB image (height, width, channels)
//   Input<8192>          a flat feature vector
#pragma once

#include <cstddef>

#include "typenet/core/shape.hpp"

namespace typenet {

template <std::size_t... Dims>
struct Input {
    static_assert(sizeof...(Dims) == 1 || sizeof...(Dims) == 3,
                  "Input takes an image shape <height, width, channels> or a flat shape <features>");
    static_assert(((Dims > 0) && ...), "Input: every dimension must be at least 1");
    using shape = Shape<Dims...>;
};

template <class T>
inline constexpr bool is_input_v = is_sizes_of<T, Input>::value;

}  // namespace typenet
