// typenet/layers/pooling.hpp
// MaxPooling2D<pool, options...>: options are a stride (default: the pool size) and a
// name, in any order. 'valid' output size, floor((in - pool) / stride) + 1, as Keras.
#pragma once

#include <cstddef>
#include <cstdint>

#include "typenet/backend/kernels.hpp"
#include "typenet/core/buffer.hpp"
#include "typenet/core/layer_option.hpp"
#include "typenet/core/shape.hpp"
#include "typenet/layers/layer.hpp"
#include "typenet/layers/padding.hpp"

namespace typenet {

template <class In, class Device, FixedString Name, std::size_t Pool, std::size_t Stride>
class MaxPooling2DLayer;

template <std::size_t Pool, LayerOption Option1 = LayerOption{}, LayerOption Option2 = LayerOption{}>
struct MaxPooling2D {
    static constexpr FixedString auto_prefix = "max_pooling2d";
    // Each option once; checked in a function body, so a duplicate is one error (see DenseLayer::ok).
    static constexpr FixedString explicit_name = [] {
        static_assert(option_name_count<Option1, Option2>() <= 1,
                      "MaxPooling2D: a name is given twice (MaxPooling2D<2, \"first\", \"second\">): a layer has "
                      "one name");
        static_assert(option_number_count<Option1, Option2>() <= 1,
                      "MaxPooling2D: a stride is given twice (MaxPooling2D<2, 3, 1>): a layer has one stride");
        return option_name<Option1, Option2>();
    }();
    static constexpr std::size_t stride = option_number<Pool, Option1, Option2>();

    template <class In, class Device, FixedString Name>
    using bind = MaxPooling2DLayer<In, Device, Name, Pool, stride>;
};

template <class In, class Device, FixedString Name, std::size_t Pool, std::size_t Stride>
class MaxPooling2DLayer
    : public LayerBase<In,
                       Shape<Valid::out(dim_or_one<In, 0>, Pool, Stride), Valid::out(dim_or_one<In, 1>, Pool, Stride),
                             dim_or_one<In, 2>>,
                       Name, "MaxPooling2D", 0>,
      public NoParameters<Device> {
    static constexpr bool spec_ok = Pool > 0 && Stride > 0;
    static constexpr bool rank_ok = In::rank == 3;
    static constexpr bool fits = Pool <= dim_or_one<In, 0> && Pool <= dim_or_one<In, 1>;

public:
    // In a function body: one error under every compiler, no cascade (see DenseLayer::ok).
    static constexpr bool ok = [] {
        static_assert(spec_ok, "MaxPooling2D: pool size and stride must be at least 1");
        static_assert(!spec_ok || rank_ok,
                      "MaxPooling2D needs an image input (height, width, channels), but its input is flat: "
                      "it cannot come after Flatten or Dense");
        static_assert(!(spec_ok && rank_ok) || fits,
                      "MaxPooling2D window is larger than its input: there is nothing left to pool (the "
                      "instantiation above names the layer and its input Shape: the image is too small for this "
                      "many poolings)");
        return spec_ok && rank_ok && fits;
    }();
    static constexpr PoolGeometry geometry{dim_or_one<In, 0>,
                                           dim_or_one<In, 1>,
                                           dim_or_one<In, 2>,
                                           Pool,
                                           Pool,
                                           Stride,
                                           Stride,
                                           Valid::out(dim_or_one<In, 0>, Pool, Stride),
                                           Valid::out(dim_or_one<In, 1>, Pool, Stride)};

    void forward(const float* x, float* y, std::size_t batch, Mode) {
        argmax_.ensure(batch * geometry.out_size());
        Kernels<Device>::maxpool_forward(geometry, x, batch, y, argmax_.data());
    }
    void backward(const float*, const float*, const float* dy, float* dx, std::size_t batch, bool) {
        if (dx != nullptr) Kernels<Device>::maxpool_backward(geometry, dy, argmax_.data(), batch, dx);
    }

private:
    Buffer<Device, std::int32_t> argmax_;
};

}  // namespace typenet
