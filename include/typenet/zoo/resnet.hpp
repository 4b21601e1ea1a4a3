// typenet/zoo/resnet.hpp
// ResNet-50 (He et al. 2015) as Keras's applications build it (keras/applications/resnet.py,
// include_top=False), every layer with Keras's name:
//
//   conv1_pad, conv1_conv (7x7/2, with bias), conv1_bn, conv1_relu, pool1_pad, pool1_pool,
//   then four stages conv2..conv5 of 3, 4, 6, 3 bottleneck blocks; block b of stage s is
//   conv<s>_block<b>_{0_conv, 0_bn (projection shortcut, first block only), 1_conv, 1_bn,
//   1_relu, 2_conv, 2_bn, 2_relu, 3_conv, 3_bn, add, out}.
//
//   zoo::ResNet50Base<224, 224>   Keras ResNet50(include_top=False, weights=None)
//   zoo::ResNetStage<3, 4, 128>   a stage: its blocks generated from their indices
//
// Keras's stride sits on the first 1x1 convolution of a stage's first block (ResNet v1),
// and every BatchNormalization uses epsilon 1.001e-5. The input is Keras's 'caffe'
// preprocessing of RGB pixels in 0..255: zoo::resnet50_preprocessing (Preprocessing::caffe).
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

#include "typenet/core/fixed_string.hpp"
#include "typenet/data/preprocessing.hpp"
#include "typenet/core/layer_option.hpp"
#include "typenet/layers/activation.hpp"
#include "typenet/layers/activations.hpp"
#include "typenet/layers/batch_normalization.hpp"
#include "typenet/layers/conv2d.hpp"
#include "typenet/layers/input.hpp"
#include "typenet/layers/padding.hpp"
#include "typenet/layers/pooling.hpp"
#include "typenet/layers/use_bias.hpp"
#include "typenet/layers/zero_padding2d.hpp"
#include "typenet/model/block.hpp"
#include "typenet/model/fold.hpp"
#include "typenet/model/sequential.hpp"

namespace typenet::zoo {

namespace detail {
// "conv<stage>_block<block><suffix>", Keras's names in residual_block_v1.
template <std::size_t Stage, std::size_t Block, FixedString Suffix>
inline constexpr FixedString resnet_name = concat("conv", number_text(Stage), "_block", number_text(Block), Suffix);

// Suffix is passed on rebuilt (the same value, so the same type): nvcc's host-code generation
// cannot spell a FixedString alias parameter handed straight to another template (vgg.hpp).
template <std::size_t Stage, std::size_t Block, FixedString Suffix>
using ResNetBN = BatchNormalization<0.99f, 1.001e-5f, resnet_name<Stage, Block, FixedString(Suffix.view())>>;

// The residual path: 1x1 (carrying the stride), 3x3 'same', 1x1 to 4 * Filters.
template <std::size_t Stage, std::size_t Block, std::size_t Filters, std::size_t Stride>
using ResNetResidual =
    Branch<Conv2D<Filters, 1, Linear, Valid, LayerOption{Stride}, LayerOption{resnet_name<Stage, Block, "_1_conv">}>,
           ResNetBN<Stage, Block, "_1_bn">, Activation<ReLU, resnet_name<Stage, Block, "_1_relu">>,
           Conv2D<Filters, 3, Linear, Same, LayerOption{resnet_name<Stage, Block, "_2_conv">}>,
           ResNetBN<Stage, Block, "_2_bn">, Activation<ReLU, resnet_name<Stage, Block, "_2_relu">>,
           Conv2D<4 * Filters, 1, Linear, Valid, LayerOption{resnet_name<Stage, Block, "_3_conv">}>,
           ResNetBN<Stage, Block, "_3_bn">>;

// The shortcut: a projection (1x1 with the stride, then BN) in a stage's first block,
// the identity in the others.
template <std::size_t Stage, std::size_t Block, std::size_t Filters, std::size_t Stride>
using ResNetShortcut = std::conditional_t<
    Block == 1,
    Branch<Conv2D<4 * Filters, 1, Linear, Valid, LayerOption{Stride}, LayerOption{resnet_name<Stage, Block, "_0_conv">}>,
           ResNetBN<Stage, Block, "_0_bn">>,
    Branch<>>;

// A block's Add as a class of its own rather than an alias of Add<...>: the models that
// hold it then spell it in a few characters in their types (and in the compiler's symbol
// names), not with every layer of its branches (compile time, docs/performance.md).
template <std::size_t Stage, std::size_t Block, std::size_t Filters, std::size_t Stride>
struct ResNetAdd : Add<resnet_name<Stage, Block, "_add">, ResNetShortcut<Stage, Block, Filters, Stride>,
                       ResNetResidual<Stage, Block, Filters, Stride>> {};

template <std::size_t Stage, std::size_t Filters, std::size_t Stride1, class Indices>
struct resnet_stage;
template <std::size_t Stage, std::size_t Filters, std::size_t Stride1, std::size_t... I>
struct resnet_stage<Stage, Filters, Stride1, std::index_sequence<I...>> {
    using type = Stack<Stack<ResNetAdd<Stage, I + 1, Filters, I == 0 ? Stride1 : 1>,
                             Activation<ReLU, resnet_name<Stage, I + 1, "_out">>>...>;
};
}  // namespace detail

// Keras's residual_block_v1 as one block: the Add of shortcut and residual, then the ReLU
// named conv<s>_block<b>_out. Stride applies to a first block (Block == 1) only.
template <std::size_t Stage, std::size_t Block, std::size_t Filters, std::size_t Stride = 1>
using ResNetBlock = Stack<detail::ResNetAdd<Stage, Block, Filters, Stride>,
                          Activation<ReLU, detail::resnet_name<Stage, Block, "_out">>>;

// Keras's stack_residual_blocks_v1: `Blocks` blocks, the first with a projection shortcut
// and stride `Stride1` (1 for conv2, whose input the max pool has already halved).
template <std::size_t Stage, std::size_t Blocks, std::size_t Filters, std::size_t Stride1 = 2>
using ResNetStage = typename detail::resnet_stage<Stage, Filters, Stride1, std::make_index_sequence<Blocks>>::type;

// The stem: 7x7/2 convolution with bias, BN, ReLU, then a 3x3/2 max pool on a 1-pixel pad.
using ResNetStem = Stack<ZeroPadding2D<3, 3, 3, 3, "conv1_pad">, Conv2D<64, 7, Linear, Valid, 2, "conv1_conv">,
                         BatchNormalization<0.99f, 1.001e-5f, "conv1_bn">, Activation<ReLU, "conv1_relu">,
                         ZeroPadding2D<1, 1, 1, 1, "pool1_pad">, MaxPooling2D<3, 2, "pool1_pool">>;

// Keras ResNet50(include_top=False): 23,587,712 weights, of which 53,120 are the moving
// statistics of its 53 BatchNormalizations. Output (H/32, W/32, 2048) for H, W divisible by 32.
// A class, not an alias of its Model: a model that holds it names it in two words
// (zoo::ResNet50Base<224, 224>) in its type, in compile errors and in the compiler's own
// symbol names, instead of all 175 layers (compile time, docs/performance.md).
template <std::size_t Height = 224, std::size_t Width = 224>
class ResNet50Base : public Model<"resnet50", Input<Height, Width, 3>, ResNetStem, ResNetStage<2, 3, 64, 1>,
                                  ResNetStage<3, 4, 128>, ResNetStage<4, 6, 256>, ResNetStage<5, 3, 512>> {
public:
    using ResNet50Base::Model::Model;
};

// What ResNet50Base expects of its input (keras.applications.resnet.preprocess_input):
// RGB to BGR, minus the ImageNet means 103.939, 116.779, 123.68; preprocess_input() applies it.
inline constexpr Preprocessing resnet50_preprocessing = Preprocessing::caffe;

}  // namespace typenet::zoo
