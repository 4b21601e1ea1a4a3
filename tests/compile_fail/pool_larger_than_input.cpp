// Rule: a pooling window must fit in its input. Fixed variant: one pooling fewer.
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

using Net = tn::Sequential<tn::Input<8, 8, 1>, tn::MaxPooling2D<2>, tn::MaxPooling2D<2>, tn::MaxPooling2D<2>,
#ifndef TYPENET_FIXED
                           tn::MaxPooling2D<2>,
#endif
                           tn::Flatten, tn::Dense<1, tn::Sigmoid>>;

int main() {
    Net model;
    model.summary();
}
