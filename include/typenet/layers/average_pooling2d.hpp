// typenet/layers/average_pooling2d.hpp
// AveragePooling2D<pool, Padding = Valid, options...>: options are a stride (default: the
// pool size) and a name, in any order, as for MaxPooling2D. With Same, TensorFlow's
// padding (the extra row/column at the bottom/right) and the padded pixels are left out
// of each mean, as Keras's AveragePooling2D(padding='same') does.
//   AveragePooling2D<2>                     Keras: AveragePooling2D(2)
//   AveragePooling2D<3, Same, 1>            AveragePooling2D(3, strides=1, padding='same')
#pragma once

#include <cstddef>

#include "typenet/backend/kernels.hpp"
#include "typenet/core/layer_option.hpp"
#include "typenet/core/shape.hpp"
#include "typenet/layers/layer.hpp"
#include "typenet/layers/padding.hpp"

namespace typenet {

namespace detail {
template <class In, std::size_t Pool, class Pad, std::size_t Stride>
struct avgpool_shapes {
    using padding = std::conditional_t<is_padding_v<Pad>, Pad, Valid>;
    static constexpr std::size_t in_h = dim_or_one<In, 0>, in_w = dim_or_one<In, 1>, channels = dim_or_one<In, 2>;
    static constexpr std::size_t out_h = padding::out(in_h, Pool, Stride), out_w = padding::out(in_w, Pool, Stride);
    static constexpr ConvGeometry geometry{in_h, in_w, channels, Pool, Pool, channels, Stride, Stride,
                                           padding::pad_before(in_h, Pool, Stride),
                                           padding::pad_before(in_w, Pool, Stride), out_h, out_w};
};
}  // namespace detail

template <class In, class Device, FixedString Name, std::size_t Pool, class Pad, std::size_t Stride>
class AveragePooling2DLayer
    : public LayerBase<In,
                       Shape<detail::avgpool_shapes<In, Pool, Pad, Stride>::out_h,
                             detail::avgpool_shapes<In, Pool, Pad, Stride>::out_w, dim_or_one<In, 2>>,
                       Name, "AveragePooling2D", 0>,
      public NoParameters<Device> {
    using shapes = detail::avgpool_shapes<In, Pool, Pad, Stride>;
    static constexpr bool spec_ok = is_padding_v<Pad> && Pool > 0 && Stride > 0;
    static_assert(is_padding_v<Pad>, "AveragePooling2D: the second argument must be a padding: tn::Valid or tn::Same");
    static_assert(!is_padding_v<Pad> || (Pool > 0 && Stride > 0),
                  "AveragePooling2D: pool size and stride must be at least 1");
    static constexpr bool rank_ok = In::rank == 3;
    static_assert(!spec_ok || rank_ok,
                  "AveragePooling2D needs an image input (height, width, channels), but its input is flat: "
                  "it cannot come after Flatten or Dense");
    static constexpr bool fits = std::is_same_v<Pad, Same> || (Pool <= shapes::in_h && Pool <= shapes::in_w);
    static_assert(!(spec_ok && rank_ok) || fits,
                  "AveragePooling2D window is larger than its input with 'valid' padding (the instantiation above "
                  "names the layer and its input Shape): use a smaller pool or tn::Same");

public:
    static constexpr bool ok = spec_ok && rank_ok && fits;
    static constexpr ConvGeometry geometry = shapes::geometry;
    using padding = Pad;

    void forward(const float* x, float* y, std::size_t batch, Mode) {
        Kernels<Device>::avgpool_forward(geometry, x, batch, y);
    }
    void backward(const float*, const float*, const float* dy, float* dx, std::size_t batch, bool) {
        if (dx != nullptr) Kernels<Device>::avgpool_backward(geometry, dy, batch, dx);
    }
};

template <std::size_t Pool, class Padding = Valid, LayerOption Option1 = LayerOption{},
          LayerOption Option2 = LayerOption{}>
struct AveragePooling2D {
    static constexpr FixedString auto_prefix = "average_pooling2d";
    static constexpr FixedString explicit_name = option_name<Option1, Option2>();
    static constexpr std::size_t stride = option_number<Pool, Option1, Option2>();

    template <class In, class Device, FixedString Name>
    using bind = AveragePooling2DLayer<In, Device, Name, Pool, Padding, stride>;
};

}  // namespace typenet
