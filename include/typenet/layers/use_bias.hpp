// typenet/layers/use_bias.hpp
// Keras's use_bias, as a type argument: Conv2D<32, 3, Linear, Same, 2, "Conv1", NoBias>
// is Conv2D(32, 3, strides=2, padding='same', use_bias=False, name='Conv1'). A layer
// without bias has no "bias" weight at all (not a zero one), as in Keras.
#pragma once

#include <type_traits>

namespace typenet {

struct UseBias {
    static constexpr bool value = true;
};
struct NoBias {
    static constexpr bool value = false;
};

template <class T>
inline constexpr bool is_bias_option_v = std::is_same_v<T, UseBias> || std::is_same_v<T, NoBias>;

}  // namespace typenet
