// Rule: a 'valid' DepthwiseConv2D kernel must fit in its input. Fixed variant: 'same' padding.
// Only the model headers: these cases are about types, and CI compiles each twice.
#include "typenet/layers/activations.hpp"
#include "typenet/layers/batch_normalization.hpp"
#include "typenet/layers/depthwise_conv2d.hpp"
#include "typenet/layers/global_average_pooling2d.hpp"
#include "typenet/layers/input.hpp"
#include "typenet/model/sequential.hpp"
namespace tn = typenet;

#ifndef TYPENET_FIXED
using Padding = tn::Valid;
#else
using Padding = tn::Same;
#endif
using Net = tn::Sequential<tn::Input<4, 4, 8>, tn::DepthwiseConv2D<5, tn::Linear, Padding, 1, "", tn::NoBias>,
                           tn::BatchNormalization<>, tn::GlobalAveragePooling2D<>>;

int main() {
    Net model;
    model.summary();
}
