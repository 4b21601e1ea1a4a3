// Rule: the branches of an Add end in the same shape. Fixed variant: the shortcut's 1x1
// convolution has the residual branch's filters.
// Only the model headers: these cases are about types, and CI compiles each twice.
#include "typenet/layers/activations.hpp"
#include "typenet/layers/conv2d.hpp"
#include "typenet/layers/global_average_pooling2d.hpp"
#include "typenet/layers/input.hpp"
#include "typenet/model/block.hpp"
#include "typenet/model/sequential.hpp"
namespace tn = typenet;

#ifndef TYPENET_FIXED
constexpr std::size_t shortcut_filters = 32;
#else
constexpr std::size_t shortcut_filters = 64;
#endif
using Block = tn::Add<"conv2_block1_add",
                      tn::Branch<tn::Conv2D<shortcut_filters, 1, tn::Linear, tn::Valid, "conv2_block1_0_conv">>,
                      tn::Branch<tn::Conv2D<64, 3, tn::ReLU, tn::Same, "conv2_block1_1_conv">>>;
using Net = tn::Sequential<tn::Input<8, 8, 16>, Block, tn::GlobalAveragePooling2D<>>;

int main() {
    Net model;
    model.summary();
}
