// Rule: a pooling window must fit in its input. Fixed variant: one pooling fewer.
#include "typenet/typenet.hpp"
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
