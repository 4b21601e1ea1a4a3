// typenet/layers/zero_padding2d.hpp
// ZeroPadding2D<top, bottom = top, left = top, right = left, Name = "">: rows of zeros
// above and below, columns left and right, as Keras's ZeroPadding2D(((top, bottom),
// (left, right))).
//   ZeroPadding2D<3>             Keras: ZeroPadding2D(3)                (ResNet-50's conv1_pad)
//   ZeroPadding2D<0, 1, 0, 1>    Keras: ZeroPadding2D(((0, 1), (0, 1)))  (MobileNetV2's correct_pad)
#pragma once

#include <cstddef>

#include "typenet/backend/kernels.hpp"
#include "typenet/core/shape.hpp"
#include "typenet/layers/layer.hpp"

namespace typenet {

template <class In, class Device, FixedString Name, std::size_t Top, std::size_t Bottom, std::size_t Left,
          std::size_t Right>
class ZeroPadding2DLayer
    : public LayerBase<In,
                       Shape<dim_or_one<In, 0> + Top + Bottom, dim_or_one<In, 1> + Left + Right, dim_or_one<In, 2>>,
                       Name, "ZeroPadding2D", 0>,
      public NoParameters<Device> {
    static_assert(In::rank == 3,
                  "ZeroPadding2D needs an image input (height, width, channels), but its input is flat: "
                  "it cannot come after Flatten or Dense");

public:
    static constexpr bool ok = In::rank == 3;
    static constexpr Pad2DGeometry geometry{dim_or_one<In, 0>,
                                            dim_or_one<In, 1>,
                                            dim_or_one<In, 2>,
                                            Top,
                                            Left,
                                            dim_or_one<In, 0> + Top + Bottom,
                                            dim_or_one<In, 1> + Left + Right};

    void forward(const float* x, float* y, std::size_t batch, Mode) {
        Kernels<Device>::zero_pad_forward(geometry, x, batch, y);
    }
    void backward(const float*, const float*, const float* dy, float* dx, std::size_t batch, bool) {
        if (dx != nullptr) Kernels<Device>::zero_pad_backward(geometry, dy, batch, dx);
    }
};

template <std::size_t Top, std::size_t Bottom = Top, std::size_t Left = Top, std::size_t Right = Left,
          FixedString Name = "">
struct ZeroPadding2D {
    static constexpr FixedString auto_prefix = "zero_padding2d";
    static constexpr FixedString explicit_name = Name;

    template <class In, class Device, FixedString LayerName>
    using bind = ZeroPadding2DLayer<In, Device, LayerName, Top, Bottom, Left, Right>;
};

}  // namespace typenet
