// examples/chapter5/models.hpp
// The six models of the transfer-learning chapter (cats vs dogs, Keras 2), as types, for the
// tests and benchmarks that use the book's networks as workloads. The book's, not the
// library's: the core never includes this. Each chapter program (examples/*.cpp) spells
// its own model out as the book's Keras code does; tests/examples checks their summaries.
// Image size is a parameter so the same architectures run at the book's 150x150x3
// and at the embedded default (Fashion-MNIST, 28x28x1). So is the convolutions' padding:
// the book's is 'valid', which shrinks a 28x28 image to nothing before model B's fourth
// block; with tn::Same every block only halves it (28 -> 14 -> 7 -> 3 -> 1).
//
//   A  BasicCNN          Conv 16/64/128 + pools, tn::Dense 512, tn::Dense 1        19,024,513 at 150x150x3
//   B  RegularizedCNN    Conv 16/64/128/128 + pools, tn::Dense 512 + tn::Dropout   3,706,113
//   C  RegularizedCNN    the same, trained on augmented batches
//   D  BottleneckHead    tn::Dense head on VGG-16's 8,192 flattened features   4,457,985
//   E  VGGTransfer       frozen VGG-16 base + tn::Flatten + the same head      19,172,673
//   F  VGGTransfer       the same with blocks 4 and 5 trainable (17,437,185 trainable)
//
//   VGGNarrow            a small VGG for 28x28x1 (3 blocks, 16/32/64 filters): the default
//                        replay's stand-in for VGG-16, pretrained on 8 Fashion-MNIST classes
#pragma once

#include <cstddef>

#include "typenet/layers/activations.hpp"
#include "typenet/layers/conv2d.hpp"
#include "typenet/layers/dense.hpp"
#include "typenet/layers/dropout.hpp"
#include "typenet/layers/flatten.hpp"
#include "typenet/layers/input.hpp"
#include "typenet/layers/padding.hpp"
#include "typenet/layers/pooling.hpp"
#include "typenet/model/fold.hpp"
#include "typenet/model/sequential.hpp"
#include "typenet/zoo/vgg.hpp"

namespace chapter5 {

namespace tn = typenet;
using tn::zoo::VGG;
using tn::zoo::VGGBlock;
using tn::zoo::VGG16Base;

// The chapter's classifier head: Dense 512, Dropout 0.3, Dense 512, Dropout 0.3, Dense 1.
using ChapterHead = tn::Stack<tn::Dense<512, tn::ReLU>, tn::Dropout<0.3f>, tn::Dense<512, tn::ReLU>, tn::Dropout<0.3f>, tn::Dense<1, tn::Sigmoid>>;

// Model A: the basic CNN trained from scratch.
template <std::size_t Height = 150, std::size_t Width = 150, std::size_t Channels = 3, class Padding = tn::Valid>
using BasicCNN = tn::Sequential<tn::Input<Height, Width, Channels>,                  //
                            tn::Conv2D<16, 3, tn::ReLU, Padding>, tn::MaxPooling2D<2>,   //
                            tn::Conv2D<64, 3, tn::ReLU, Padding>, tn::MaxPooling2D<2>,   //
                            tn::Conv2D<128, 3, tn::ReLU, Padding>, tn::MaxPooling2D<2>,  //
                            tn::Flatten, tn::Dense<512, tn::ReLU>, tn::Dense<1, tn::Sigmoid>>;

// Models B and C: one more convolution block, and dropout in the head.
template <std::size_t Height = 150, std::size_t Width = 150, std::size_t Channels = 3, class Padding = tn::Valid>
using RegularizedCNN = tn::Sequential<tn::Input<Height, Width, Channels>,                  //
                                  tn::Conv2D<16, 3, tn::ReLU, Padding>, tn::MaxPooling2D<2>,   //
                                  tn::Conv2D<64, 3, tn::ReLU, Padding>, tn::MaxPooling2D<2>,   //
                                  tn::Conv2D<128, 3, tn::ReLU, Padding>, tn::MaxPooling2D<2>,  //
                                  tn::Conv2D<128, 3, tn::ReLU, Padding>, tn::MaxPooling2D<2>,  //
                                  tn::Flatten, ChapterHead>;

// Model D: the head alone, trained on bottleneck features of `Features` floats.
template <std::size_t Features = 4 * 4 * 512>
using BottleneckHead = tn::Sequential<tn::Input<Features>, ChapterHead>;

// Models E and F: a backbone inside the model, then Flatten and the head.
// Backbone is any model type (VGG16Base<150, 150> in the book).
template <class Backbone>
using TransferModel = tn::Sequential<tn::Input<Backbone::input_shape::dims[0], Backbone::input_shape::dims[1],
                                       Backbone::input_shape::dims[2]>,
                                 Backbone, tn::Flatten, ChapterHead>;

template <std::size_t Height = 150, std::size_t Width = 150>
using VGGTransfer = TransferModel<VGG16Base<Height, Width>>;

// The default replay's backbone: VGG's pattern at Fashion-MNIST's scale, 28 -> 14 -> 7 -> 3,
// output 3x3x64 (576 features), 108,720 parameters. Its last block, block3, plays the part
// of VGG-16's blocks 4 and 5 when fine-tuning (set_trainable_from("block3_conv1")).
using VGGNarrow = VGG<"vgg_narrow", 28, 28, 1, VGGBlock<1, 2, 16>, VGGBlock<2, 2, 32>, VGGBlock<3, 3, 64>>;

}  // namespace chapter5
