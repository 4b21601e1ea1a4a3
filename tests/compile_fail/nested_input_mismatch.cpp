// Rule: a nested model's Input must equal what the layer before it outputs.
// Fixed variant: the inner model expects 30x30x8, which Conv2D<8, 3> on 32x32 gives.
// Only the model headers: these cases are about types, and CI compiles each twice.
#include "typenet/layers/activations.hpp"
#include "typenet/layers/conv2d.hpp"
#include "typenet/layers/dense.hpp"
#include "typenet/layers/dropout.hpp"
#include "typenet/layers/flatten.hpp"
#include "typenet/layers/input.hpp"
#include "typenet/layers/pooling.hpp"
#include "typenet/model/sequential.hpp"
namespace tn = typenet;

#ifdef TYPENET_FIXED
using Backbone = tn::Sequential<tn::Input<30, 30, 8>, tn::Conv2D<8, 3, tn::ReLU, tn::Same>, tn::MaxPooling2D<2>>;
#else
using Backbone = tn::Sequential<tn::Input<16, 16, 8>, tn::Conv2D<8, 3, tn::ReLU, tn::Same>, tn::MaxPooling2D<2>>;
#endif

using Net = tn::Sequential<tn::Input<32, 32, 3>, tn::Conv2D<8, 3, tn::ReLU>, Backbone, tn::Flatten,
                           tn::Dense<1, tn::Sigmoid>>;

int main() {
    Net model;
    model.summary();
}
