// typenet/layers/flatten.hpp
// Flatten: (h, w, c) -> (h * w * c), row-major as Keras on NHWC: index = (h * W + w) * C + c.
// In memory NHWC is already flat, so forward and backward are copies.
#pragma once

#include <cstddef>

#include "typenet/backend/kernels.hpp"
#include "typenet/core/shape.hpp"
#include "typenet/layers/layer.hpp"

namespace typenet {

template <class In, class Device, FixedString Name>
class FlattenLayer : public LayerBase<In, Shape<In::size>, Name, "Flatten", 0>, public NoParameters<Device> {
public:
    static constexpr bool ok = true;

    void forward(const float* x, float* y, std::size_t batch, Mode) {
        Kernels<Device>::copy(x, y, batch * In::size);
    }
    void backward(const float*, const float*, const float* dy, float* dx, std::size_t batch, bool) {
        if (dx != nullptr) Kernels<Device>::copy(dy, dx, batch * In::size);
    }
};

struct Flatten : SpecNames<"flatten"> {
    template <class In, class Device, FixedString Name>
    using bind = FlattenLayer<In, Device, Name>;
};

}  // namespace typenet
