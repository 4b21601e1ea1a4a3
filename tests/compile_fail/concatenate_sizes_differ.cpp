// Rule: the branches of a Concatenate end in images of the same height and width. Fixed
// variant: the convolution is strided as the pooling is, so both halve the image.
// Only the model headers: these cases are about types, and CI compiles each twice.
#include "typenet/layers/activations.hpp"
#include "typenet/layers/conv2d.hpp"
#include "typenet/layers/input.hpp"
#include "typenet/layers/pooling.hpp"
#include "typenet/model/block.hpp"
#include "typenet/model/sequential.hpp"
namespace tn = typenet;

#ifndef TYPENET_FIXED
constexpr std::size_t stride = 1;
#else
constexpr std::size_t stride = 2;
#endif
using Block = tn::Concatenate<"mixed0", tn::Branch<tn::Conv2D<8, 3, tn::ReLU, tn::Same, stride, "mixed0_conv">>,
                              tn::Branch<tn::MaxPooling2D<2, "mixed0_pool">>>;
using Net = tn::Sequential<tn::Input<8, 8, 4>, Block>;

int main() {
    Net model;
    model.summary();
}
