// typenet/layers/global_average_pooling2d.hpp
// GlobalAveragePooling2D<Name = "">: (h, w, c) -> (c), the mean of each channel over the
// image (Keras's default keepdims=False). It is the average pool whose window is the image.
#pragma once

#include <cstddef>

#include "typenet/backend/kernels.hpp"
#include "typenet/core/shape.hpp"
#include "typenet/layers/layer.hpp"

namespace typenet {

template <class In, class Device, FixedString Name>
class GlobalAveragePooling2DLayer
    : public LayerBase<In, Shape<dim_or_one<In, 2>>, Name, "GlobalAveragePooling2D", 0>, public NoParameters<Device> {
    static_assert(In::rank == 3,
                  "GlobalAveragePooling2D needs an image input (height, width, channels), but its input is flat: "
                  "it cannot come after Flatten, Dense or another global pooling");

public:
    static constexpr bool ok = In::rank == 3;
    static constexpr std::size_t in_h = dim_or_one<In, 0>, in_w = dim_or_one<In, 1>, channels = dim_or_one<In, 2>;
    static constexpr ConvGeometry geometry{in_h, in_w, channels, in_h, in_w, channels, 1, 1, 0, 0, 1, 1};

    void forward(const float* x, float* y, std::size_t batch, Mode) {
        Kernels<Device>::avgpool_forward(geometry, x, batch, y);
    }
    void backward(const float*, const float*, const float* dy, float* dx, std::size_t batch, bool) {
        if (dx != nullptr) Kernels<Device>::avgpool_backward(geometry, dy, batch, dx);
    }
};

template <FixedString Name = "">
struct GlobalAveragePooling2D : SpecNames<"global_average_pooling2d", Name> {
    template <class In, class Device, FixedString LayerName>
    using bind = GlobalAveragePooling2DLayer<In, Device, LayerName>;
};

}  // namespace typenet
