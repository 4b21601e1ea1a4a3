// tests/cuda/test_cuda_backbones.cu
// ResNet-50 and MobileNetV2 on the GPU against the CPU: a training step of each backbone
// under the chapter's transfer head. A translation unit of its own, built only with
// -DTYPENET_CUDA_BACKBONE_TESTS=ON (scripts/gpu-bundle turns it on): nvcc's front end
// (cudafe++) needs many minutes on these two types, which CI, with no GPU to run them, does
// not spend. Every layer kind they use is also checked alone in test_cuda_models.cu.
#include <typenet/zoo/mobilenet.hpp>
#include <typenet/zoo/resnet.hpp>

#include "chapter5/models.hpp"  // examples/: the book's models (TransferModel)
#include "common.hpp"
#include "compare_training.hpp"

CUDA_TEST_CASE(backbones_fine_tuned_from_their_last_stage) {
    // ResNet-50 and MobileNetV2 at 32x32 (the smallest input both take) under the chapter's
    // transfer head, trainable from the first layer of the last stage as models D/E/F take
    // them: every layer kind of the backbones on the GPU, frozen BatchNormalization in
    // inference mode and trainable BatchNormalization in training mode, in one step.
    using ResNet = chapter5::TransferModel<tn::zoo::ResNet50Base<32, 32>>;
    compare_training<ResNet>(
        "ResNet-50 (32x32) from conv5_block1_1_conv, SGD momentum", 2, 1, tn::BinaryCrossentropy{},
        tn::SGD{.learning_rate = 0.01f, .momentum = 0.9f},
        [](auto& model) { model.set_trainable_from("conv5_block1_1_conv"); }, binary_labels, true);
    using MobileNet = chapter5::TransferModel<tn::zoo::MobileNetV2Base<32, 32>>;
    compare_training<MobileNet>(
        "MobileNetV2 (32x32) from block_13_expand, SGD momentum", 2, 1, tn::BinaryCrossentropy{},
        tn::SGD{.learning_rate = 0.01f, .momentum = 0.9f},
        [](auto& model) { model.set_trainable_from("block_13_expand"); }, binary_labels, true);
}
