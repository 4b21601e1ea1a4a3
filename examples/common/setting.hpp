// examples/common/setting.hpp
// The two scales the chapter's experiment runs at, as types. Every program's training
// function is a template on a Setting, so chapter5 and the single programs run the same code
// (each program spells its own model out; a Setting gives it the image size, the padding
// of the CNNs and the backbone):
//
//   BookSetting     Kaggle cats vs dogs, 150x150 RGB, VGG-16 trained on ImageNet: the book
//   FashionSetting  Fashion-MNIST T-shirt/top vs Shirt, 28x28 grey, a narrow VGG pretrained
//                   on the other 8 classes: the embedded default, small enough for a CPU
//   ResNet50Setting, MobileNetV2Setting   the book's images, models D-F on another backbone
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "typenet/data/preprocessing.hpp"
#include "typenet/layers/padding.hpp"
#include "typenet/zoo/mobilenet.hpp"
#include "typenet/zoo/resnet.hpp"
#include "typenet/zoo/vgg.hpp"

namespace examples {

namespace tn = typenet;

// The six models of the chapter, by letter; index 0..5 = A..F.
enum class ModelId { A, B, C, D, E, F };
inline constexpr std::array<ModelId, 6> all_models{ModelId::A, ModelId::B, ModelId::C,
                                                   ModelId::D, ModelId::E, ModelId::F};
inline std::size_t index_of(ModelId id) { return static_cast<std::size_t>(id); }
inline char letter(ModelId id) { return static_cast<char>('A' + index_of(id)); }

// What the chapter says about each model: how it learns and what it is saved as.
struct ModelFacts {
    ModelId id;
    std::string_view file_suffix;  // "<prefix>_<suffix>.safetensors" (cats_dogs_basic_cnn)
    std::string_view title;        // a few words for tables
    std::string_view program;      // the example program that trains it
    double learning_rate;          // RMSprop, as the chapter
    std::size_t batch_size;
    std::size_t validation_batch_size;
    bool augmented;
};

// Model A is not saved in the book; it is saved here as cnn_from_scratch so that
// `evaluate` scores all six.
inline constexpr std::array<ModelFacts, 6> chapter_models{{
    {ModelId::A, "cnn_from_scratch", "basic CNN from scratch", "basic_cnn", 1e-3, 30, 30, false},
    {ModelId::B, "basic_cnn", "CNN + dropout", "cnn_regularized", 1e-3, 30, 30, false},
    {ModelId::C, "cnn_img_aug", "CNN + dropout + augmentation", "cnn_augmented", 1e-4, 30, 20, true},
    {ModelId::D, "tlearn_basic_cnn", "frozen backbone features + dense head", "vgg16_bottleneck", 1e-4, 30, 30,
     false},
    {ModelId::E, "tlearn_img_aug_cnn", "frozen backbone in the model + augmentation", "vgg16_augmented", 2e-5, 30, 20,
     true},
    {ModelId::F, "tlearn_finetune_img_aug_cnn", "fine-tuned backbone + augmentation", "vgg16_finetune", 1e-5, 30, 20,
     true},
}};
inline const ModelFacts& facts(ModelId id) { return chapter_models[index_of(id)]; }

// The default task's backbone: VGG's pattern at Fashion-MNIST's scale, 28 -> 14 -> 7 -> 3,
// output 3x3x64 (576 features), 108,720 parameters. Its last block, block3, plays the part
// of VGG-16's blocks 4 and 5 when fine-tuning (set_trainable_from("block3_conv1")).
using VGGNarrow = tn::zoo::VGG<"vgg_narrow", 28, 28, 1, tn::zoo::VGGBlock<1, 2, 16>, tn::zoo::VGGBlock<2, 2, 32>,
                               tn::zoo::VGGBlock<3, 3, 64>>;

// The book: 150x150 RGB images, the models exactly as printed, VGG-16 from ImageNet.
struct BookSetting {
    static constexpr std::size_t height = 150, width = 150, channels = 3;
    static constexpr std::string_view name = "book";
    static constexpr std::string_view file_prefix = "cats_dogs";
    static constexpr std::string_view backbone_title = "VGG-16 (ImageNet weights, include_top=False)";
    static constexpr std::string_view backbone_short = "VGG-16";
    static constexpr std::string_view finetune_from = "block4_conv1";  // blocks 4 and 5 learn
    static constexpr std::string_view backbone_flag = "vgg16";          // --backbone; files of D-F untagged
    static constexpr std::string_view weights_model = "vgg16";          // the "model" its weights file names
    // Keras's ImageNet weights file (docs/weights.md): where it is, and the md5 Keras checks.
    static constexpr std::string_view weights_dir = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/";
    static constexpr std::string_view weights_h5 = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5";
    static constexpr std::string_view weights_md5 = "6d6bbae143d832006294945121d1f1fc";
    static constexpr std::string_view output_layer = "block5_pool";     // the bottleneck features' layer
    static constexpr tn::Preprocessing backbone_preprocessing = tn::Preprocessing::rescale;  // the book's
    // Epochs of A..F, as the chapter.
    static constexpr std::array<std::size_t, 6> epochs{30, 30, 100, 30, 100, 100};

    using padding = tn::Valid;  // models A-C, as the book
    using Backbone = tn::zoo::VGG16Base<150, 150>;
};

// The embedded default: Fashion-MNIST at 28x28 grey. Model A keeps the book's 'valid'
// convolutions; models B and C use 'same' ones (a 'valid' model B has nothing left to
// convolve after its third pool), so both end in 1x1x128 features;
// the backbone is the narrow VGG, whose last block is fine-tuned as VGG-16's last two.
// Epochs are scaled so that the whole chapter runs in minutes on two cores, and learning
// rates with them (Experiment::scaled_learning_rate).
struct FashionSetting {
    static constexpr std::size_t height = 28, width = 28, channels = 1;
    static constexpr std::string_view name = "fashion";
    static constexpr std::string_view file_prefix = "tshirt_shirt";
    static constexpr std::string_view backbone_title =
        "narrow VGG (3 blocks, 16/32/64 filters) pretrained on the 8 other Fashion-MNIST classes";
    static constexpr std::string_view backbone_short = "narrow VGG";
    static constexpr std::string_view finetune_from = "block3_conv1";
    static constexpr std::string_view backbone_flag = "vgg16";  // the narrow VGG stands for VGG-16
    static constexpr std::string_view weights_model = "vgg_narrow";
    static constexpr std::string_view output_layer = "block3_pool";
    static constexpr tn::Preprocessing backbone_preprocessing = tn::Preprocessing::rescale;
    static constexpr std::array<std::size_t, 6> epochs{10, 10, 30, 30, 30, 30};

    using padding = tn::Same;  // models B and C (model A keeps 'valid': 28 -> 13 -> 5 -> 1)
    using Backbone = VGGNarrow;
};

// The book's images with today's backbones (--backbone resnet50 | mobilenetv2): models A-C
// as the book, models D, E and F on Keras's ResNet-50 or MobileNetV2 (include_top=False)
// at 150x150, each with its own preprocessing, F fine-tuned from the first layer of the
// last stage. Their models are compiled apart, one translation unit per backbone
// (examples/backbones/, CMake option TYPENET_EXAMPLE_BACKBONES).
struct ResNet50Setting : BookSetting {
    static constexpr std::string_view backbone_title = "ResNet-50 (ImageNet weights, include_top=False)";
    static constexpr std::string_view backbone_short = "ResNet-50";
    static constexpr std::string_view finetune_from = "conv5_block1_1_conv";  // stage 5 learns
    static constexpr std::string_view backbone_flag = "resnet50";
    static constexpr std::string_view weights_model = "resnet50";
    static constexpr std::string_view weights_dir = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/";
    static constexpr std::string_view weights_h5 = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5";
    static constexpr std::string_view weights_md5 = "4d473c1dd8becc155b73f8504c6f6626";
    static constexpr std::string_view output_layer = "conv5_block3_out";
    static constexpr tn::Preprocessing backbone_preprocessing = tn::zoo::resnet50_preprocessing;  // caffe
    using Backbone = tn::zoo::ResNet50Base<150, 150>;
};
struct MobileNetV2Setting : BookSetting {
    static constexpr std::string_view backbone_title = "MobileNetV2 (alpha 1.0, ImageNet weights, include_top=False)";
    static constexpr std::string_view backbone_short = "MobileNetV2";
    static constexpr std::string_view finetune_from = "block_13_expand";  // from the last stride-2 block on
    static constexpr std::string_view backbone_flag = "mobilenetv2";
    static constexpr std::string_view weights_model = "mobilenetv2";  // mobilenetv2_1.00_<size>
    static constexpr std::string_view weights_dir =
        "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/";
    static constexpr std::string_view weights_h5 = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5";
    static constexpr std::string_view weights_md5 = "";  // Keras downloads it without a hash
    static constexpr std::string_view output_layer = "out_relu";
    static constexpr tn::Preprocessing backbone_preprocessing = tn::zoo::mobilenetv2_preprocessing;  // tf
    using Backbone = tn::zoo::MobileNetV2Base<150, 150>;
};

}  // namespace examples
