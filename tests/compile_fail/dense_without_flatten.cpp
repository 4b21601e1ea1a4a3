// Rule: Dense needs a flat input. Fixed variant: Flatten before Dense.
#include "typenet/typenet.hpp"
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
