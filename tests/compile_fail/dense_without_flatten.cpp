// Rule: Dense needs a flat input. Fixed variant: Flatten before Dense.
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

using Net = tn::Sequential<tn::Input<28, 28, 1>, tn::Conv2D<8, 3, tn::ReLU>, tn::MaxPooling2D<2>,
#ifdef TYPENET_FIXED
                           tn::Flatten,
#endif
                           tn::Dense<10, tn::Softmax>>;

int main() {
    Net model;
    model.summary();
    float x[28 * 28] = {}, y[10] = {};
    model.forward(x, y, 1, tn::Mode::infer);
    model.backward(x, y, y, nullptr, 1, false);
}
