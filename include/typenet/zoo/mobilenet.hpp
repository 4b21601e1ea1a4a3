// typenet/zoo/mobilenet.hpp
// MobileNetV2 (Sandler et al. 2018, alpha 1.0) as Keras's applications build it
// (keras/applications/mobilenet_v2.py, include_top=False), every layer with Keras's name:
//
//   Conv1 (3x3/2 'same', no bias), bn_Conv1, Conv1_relu (ReLU6), then 17 inverted residual
//   blocks: block 0 is expanded_conv_{depthwise, depthwise_BN, depthwise_relu, project,
//   project_BN}; block i >= 1 is block_<i>_{expand, expand_BN, expand_relu, [pad],
//   depthwise, depthwise_BN, depthwise_relu, project, project_BN, [add]}; then Conv_1
//   (1x1 to 1280, no bias), Conv_1_bn, out_relu.
//
//   zoo::MobileNetV2Base<224, 224>   Keras MobileNetV2(alpha=1.0, include_top=False, weights=None)
//   zoo::InvertedResidual<3, 24, 32, 2>   block 3: 24 channels in, 32 out, stride 2
//
// A strided block pads first with Keras's correct_pad (ZeroPadding2D block_<i>_pad: one row
// at the bottom, and one at the top only when the height is odd; the same for columns) and
// then runs a 'valid' depthwise convolution. A block whose input and output have the same
// shape (stride 1, same channels) ends in an Add with its input. BatchNormalization uses
// momentum 0.999 and epsilon 1e-3. The input is Keras's 'tf' preprocessing (x / 127.5 - 1):
// zoo::mobilenetv2_preprocessing.
#pragma once

#include <cstddef>
#include <type_traits>

#include "typenet/core/fixed_string.hpp"
#include "typenet/core/layer_option.hpp"
#include "typenet/data/preprocessing.hpp"
#include "typenet/layers/activations.hpp"
#include "typenet/layers/batch_normalization.hpp"
#include "typenet/layers/conv2d.hpp"
#include "typenet/layers/depthwise_conv2d.hpp"
#include "typenet/layers/input.hpp"
#include "typenet/layers/padding.hpp"
#include "typenet/layers/relu.hpp"
#include "typenet/layers/use_bias.hpp"
#include "typenet/layers/zero_padding2d.hpp"
#include "typenet/model/block.hpp"
#include "typenet/model/fold.hpp"
#include "typenet/model/sequential.hpp"

namespace typenet::zoo {

// Keras's imagenet_utils.correct_pad(x, 3) as a layer: the padding depends on the size that
// arrives (odd heights get a row on top too), so it is chosen when the layer is bound.
template <FixedString Name = "">
struct CorrectPad {
    static constexpr FixedString auto_prefix = "zero_padding2d";
    static constexpr FixedString explicit_name = Name;

    template <class In, class Device, FixedString LayerName>
    using bind = ZeroPadding2DLayer<In, Device, LayerName, dim_or_one<In, 0> % 2, 1, dim_or_one<In, 1> % 2, 1>;
};

namespace detail {
// "expanded_conv_<suffix>" for block 0, "block_<i>_<suffix>" for the others.
template <std::size_t Id, FixedString Suffix>
inline constexpr FixedString mobilenet_name =
    Id == 0 ? concat("expanded_conv_", Suffix) : concat("block_", number_text(Id), "_", Suffix);

// Suffix is passed on rebuilt (the same value, so the same type): nvcc's host-code generation
// cannot spell a FixedString alias parameter handed straight to another template (vgg.hpp).
template <std::size_t Id, FixedString Suffix>
using MobileNetBN = BatchNormalization<0.999f, 1e-3f, mobilenet_name<Id, FixedString(Suffix.view())>>;

// Block 0 does not expand (its expansion factor is 1).
template <std::size_t Id, std::size_t InChannels>
using MobileNetExpand = std::conditional_t<
    Id == 0, Stack<>,
    Stack<Conv2D<6 * InChannels, 1, Linear, Same, LayerOption{mobilenet_name<Id, "expand">}, LayerOption{}, NoBias>,
          MobileNetBN<Id, "expand_BN">, ReLUMax<6.0f, mobilenet_name<Id, "expand_relu">>>>;

template <std::size_t Id, std::size_t Stride>
using MobileNetDepthwise = std::conditional_t<
    Stride == 1,
    Stack<DepthwiseConv2D<3, Linear, Same, LayerOption{mobilenet_name<Id, "depthwise">}, LayerOption{}, NoBias>>,
    Stack<CorrectPad<mobilenet_name<Id, "pad">>,
          DepthwiseConv2D<3, Linear, Valid, LayerOption{Stride}, LayerOption{mobilenet_name<Id, "depthwise">}, NoBias>>>;

template <std::size_t Id, std::size_t InChannels, std::size_t Filters, std::size_t Stride>
using MobileNetPath =
    Stack<MobileNetExpand<Id, InChannels>, MobileNetDepthwise<Id, Stride>, MobileNetBN<Id, "depthwise_BN">,
          ReLUMax<6.0f, mobilenet_name<Id, "depthwise_relu">>,
          Conv2D<Filters, 1, Linear, Same, LayerOption{mobilenet_name<Id, "project">}, LayerOption{}, NoBias>,
          MobileNetBN<Id, "project_BN">>;

// The block with its Add, as a class of its own rather than an alias of Add<...> (see
// resnet.hpp's ResNetAdd: shorter types, faster compiles).
template <std::size_t Id, std::size_t InChannels, std::size_t Filters, std::size_t Stride>
struct MobileNetAdd : Add<mobilenet_name<Id, "add">, Branch<>, Branch<MobileNetPath<Id, InChannels, Filters, Stride>>> {};
}  // namespace detail

// Keras's _inverted_res_block(expansion=6 (1 for block 0), stride, filters, block_id=Id) for an
// input of InChannels channels: with an Add named block_<Id>_add when the shapes allow one.
template <std::size_t Id, std::size_t InChannels, std::size_t Filters, std::size_t Stride = 1>
using InvertedResidual =
    std::conditional_t<InChannels == Filters && Stride == 1, detail::MobileNetAdd<Id, InChannels, Filters, Stride>,
                       detail::MobileNetPath<Id, InChannels, Filters, Stride>>;

// Keras MobileNetV2(alpha=1.0, include_top=False): 2,257,984 weights, of which 34,112 are the
// moving statistics of its 52 BatchNormalizations. Output (H/32, W/32, 1280), rounded up.
// Keras names the model mobilenetv2_1.00_<rows> after its input height (with weights=None;
// loading ImageNet weights at a size Keras has none for renames it ..._224).
// A class, not an alias of its Model: models that hold it name it in two words in their
// types (see ResNet50Base).
template <std::size_t Height = 224, std::size_t Width = 224>
class MobileNetV2Base : public Model<
    concat("mobilenetv2_1.00_", number_text(Height)),
    Input<Height, Width, 3>,
    Conv2D<32, 3, Linear, Same, 2, "Conv1", NoBias>, BatchNormalization<0.999f, 1e-3f, "bn_Conv1">,
    ReLUMax<6.0f, "Conv1_relu">,
    InvertedResidual<0, 32, 16>,
    InvertedResidual<1, 16, 24, 2>, InvertedResidual<2, 24, 24>,
    InvertedResidual<3, 24, 32, 2>, InvertedResidual<4, 32, 32>, InvertedResidual<5, 32, 32>,
    InvertedResidual<6, 32, 64, 2>, InvertedResidual<7, 64, 64>, InvertedResidual<8, 64, 64>, InvertedResidual<9, 64, 64>,
    InvertedResidual<10, 64, 96>, InvertedResidual<11, 96, 96>, InvertedResidual<12, 96, 96>,
    InvertedResidual<13, 96, 160, 2>, InvertedResidual<14, 160, 160>, InvertedResidual<15, 160, 160>,
    InvertedResidual<16, 160, 320>,
    Conv2D<1280, 1, Linear, Valid, "Conv_1", LayerOption{}, NoBias>, BatchNormalization<0.999f, 1e-3f, "Conv_1_bn">,
    ReLUMax<6.0f, "out_relu">> {
public:
    using MobileNetV2Base::Model::Model;
};

// What MobileNetV2Base expects of its input (keras.applications.mobilenet_v2.preprocess_input):
// x / 127.5 - 1 on RGB pixels in 0..255; preprocess_input() applies it.
inline constexpr Preprocessing mobilenetv2_preprocessing = Preprocessing::tf;

}  // namespace typenet::zoo
