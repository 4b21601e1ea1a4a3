// Rule: Conv2D needs an image (H, W, C), not a flat vector. Fixed variant: Flatten after it.
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
using Net = tn::Sequential<tn::Input<8, 8, 1>, tn::Conv2D<4, 3, tn::ReLU>, tn::Flatten, tn::Dense<1, tn::Sigmoid>>;
#else
using Net = tn::Sequential<tn::Input<8, 8, 1>, tn::Flatten, tn::Conv2D<4, 3, tn::ReLU>, tn::Dense<1, tn::Sigmoid>>;
#endif

int main() {
    Net model;
    model.summary();
}
