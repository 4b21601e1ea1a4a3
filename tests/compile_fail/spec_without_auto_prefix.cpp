// Rule: a layer spec gives its Keras name prefix (auto_prefix). A user-written layer that misses it gets
// one error from the layer contract (layers/contract.hpp), naming the member.
// Fixed variant: the member is there.
#include <cstddef>

#include "typenet/layers/activations.hpp"
#include "typenet/layers/dense.hpp"
#include "typenet/layers/input.hpp"
#include "typenet/layers/layer.hpp"
#include "typenet/model/sequential.hpp"
namespace tn = typenet;

// A user's layer: y = 2 x.
template <class In, class Device, tn::FixedString Name>
struct DoubleLayer : tn::LayerBase<In, In, Name, "Double", 0>, tn::NoParameters<Device> {
    static constexpr bool ok = true;
    void forward(const float* x, float* y, std::size_t batch, tn::Mode) {
        for (std::size_t i = 0; i < batch * In::size; ++i) y[i] = 2.0f * x[i];
    }
    void backward(const float*, const float*, const float* dy, float* dx, std::size_t batch, bool) {
        if (dx != nullptr)
            for (std::size_t i = 0; i < batch * In::size; ++i) dx[i] = 2.0f * dy[i];
    }
};

struct Double {
#ifdef TYPENET_FIXED
    static constexpr tn::FixedString auto_prefix = "double";
#endif
    static constexpr tn::FixedString explicit_name = "";
    template <class In, class Device, tn::FixedString Name>
    using bind = DoubleLayer<In, Device, Name>;
};

using Net = tn::Sequential<tn::Input<8>, Double, tn::Dense<1, tn::Sigmoid>>;

int main() {
    Net model;
    model.summary();
}
