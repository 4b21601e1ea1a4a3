// typenet/zoo/vgg.hpp
// VGG backbones (Simonyan & Zisserman 2014) as Keras's applications build them:
// per block, 3x3 'same' ReLU convolutions named `block<b>_conv<i>` and a 2x2 max pool
// named `block<b>_pool`. A VGG is a list of blocks, so a variant is one line:
//
//   zoo::VGG16Base<150, 150>   Keras VGG16(include_top=False, input_shape=(150, 150, 3))
//   zoo::VGG19Base<224, 224>   Keras VGG19(include_top=False)
//   zoo::VGG<"vgg_narrow", 28, 28, 1, zoo::VGGBlock<1, 2, 16>, zoo::VGGBlock<2, 2, 32>>
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

#include "typenet/core/fixed_string.hpp"
#include "typenet/core/layer_option.hpp"
#include "typenet/layers/activations.hpp"
#include "typenet/layers/conv2d.hpp"
#include "typenet/layers/input.hpp"
#include "typenet/layers/padding.hpp"
#include "typenet/layers/pooling.hpp"
#include "typenet/model/fold.hpp"
#include "typenet/model/sequential.hpp"

namespace typenet::zoo {

namespace detail {
template <std::size_t Block, std::size_t Conv>
inline constexpr FixedString vgg_conv_name = concat("block", number_text(Block), "_conv", number_text(Conv));
template <std::size_t Block>
inline constexpr FixedString vgg_pool_name = concat("block", number_text(Block), "_pool");

template <std::size_t Block, std::size_t Filters, class Indices>
struct vgg_block;
template <std::size_t Block, std::size_t Filters, std::size_t... I>
struct vgg_block<Block, Filters, std::index_sequence<I...>> {
    using type = Stack<Conv2D<Filters, 3, ReLU, Same, LayerOption{vgg_conv_name<Block, I + 1>}>...,
                       MaxPooling2D<2, LayerOption{vgg_pool_name<Block>}>>;
};

// Every block halves the image; below 2^blocks pixels the last pool has nothing left.
template <std::size_t Height, std::size_t Width, std::size_t Blocks>
struct vgg_input_check {
    static constexpr std::size_t minimum = std::size_t{1} << Blocks;
    // In a function body: one error under every compiler, no cascade (see DenseLayer::ok).
    static constexpr bool ok = [] {
        static_assert(Height >= minimum && Width >= minimum,
                      "VGG input too small: each VGG block halves the image with a 2x2 pool, so VGG16Base and "
                      "VGG19Base (5 blocks) need an input of at least 32x32; below that the fifth pool has "
                      "nothing left to pool");
        return Height >= minimum && Width >= minimum;
    }();
};
}  // namespace detail

// Block b: `Convs` convolutions of `Filters` filters, then the pool.
template <std::size_t Block, std::size_t Convs, std::size_t Filters>
using VGGBlock = typename detail::vgg_block<Block, Filters, std::make_index_sequence<Convs>>::type;

// A VGG backbone with Keras's names, checked for a large enough input. The name is
// passed on as a freshly built FixedString (the same value, so the same type): nvcc's
// host-code generation cannot spell a FixedString template parameter handed straight
// to another template, and a VGG must work in .cu files too.
template <FixedString Name, std::size_t Height, std::size_t Width, std::size_t Channels, class... Blocks>
using VGG = std::conditional_t<detail::vgg_input_check<Height, Width, sizeof...(Blocks)>::ok,
                               Model<FixedString(Name.view()), Input<Height, Width, Channels>, Blocks...>,
                               Model<FixedString(Name.view()), Input<Height, Width, Channels>, AlreadyReported>>;

// Keras VGG16(include_top=False): 13 convolutions, 5 pools, 14,714,688 parameters.
template <std::size_t Height = 224, std::size_t Width = 224>
using VGG16Base = VGG<"vgg16", Height, Width, 3, VGGBlock<1, 2, 64>, VGGBlock<2, 2, 128>, VGGBlock<3, 3, 256>,
                      VGGBlock<4, 3, 512>, VGGBlock<5, 3, 512>>;

// Keras VGG19(include_top=False): 16 convolutions, 5 pools, 20,024,384 parameters.
template <std::size_t Height = 224, std::size_t Width = 224>
using VGG19Base = VGG<"vgg19", Height, Width, 3, VGGBlock<1, 2, 64>, VGGBlock<2, 2, 128>, VGGBlock<3, 4, 256>,
                      VGGBlock<4, 4, 512>, VGGBlock<5, 4, 512>>;

}  // namespace typenet::zoo
