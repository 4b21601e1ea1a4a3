// Rule: a branch may not shrink the image to nothing. Here the residual branch's strided
// 'valid' 3x3 convolution leaves 1x1 pixels, and its next 3x3 convolution has nothing to
// convolve: the error is that convolution's rule, once, and its instantiation notes name
// the block (conv5_block1_add), the layer and the 1x1 shape it got. Fixed variant: 'same'
// padding, as Keras's ResNet pads its 3x3 convolutions.
#include "typenet/layers/activations.hpp"
#include "typenet/layers/conv2d.hpp"
#include "typenet/layers/global_average_pooling2d.hpp"
#include "typenet/layers/input.hpp"
#include "typenet/layers/padding.hpp"
#include "typenet/model/block.hpp"
#include "typenet/model/sequential.hpp"
namespace tn = typenet;

#ifndef TYPENET_FIXED
using Padding = tn::Valid;
#else
using Padding = tn::Same;
#endif
using Block = tn::Add<"conv5_block1_add",
                      tn::Branch<tn::Conv2D<16, 1, tn::Linear, tn::Valid, 2, "conv5_block1_0_conv">>,
                      tn::Branch<tn::Conv2D<16, 3, tn::ReLU, Padding, 2, "conv5_block1_1_conv">,
                                 tn::Conv2D<16, 3, tn::Linear, Padding, "conv5_block1_2_conv">>>;
using Net = tn::Model<"shrinking", tn::Input<4, 4, 16>, Block, tn::GlobalAveragePooling2D<>>;

int main() {
    Net model;
    model.summary();
}
