// Makes the "converted" ResNet-50 and MobileNetV2 that the --backbone smoke tests load, without
// Keras's files: each base at the examples' 150x150 with seeded random weights (glorot kernels,
// BatchNormalization's Keras initial values), saved as typenet-convert names the tensors
// (conv1_conv/kernel, bn_Conv1/moving_mean, ...) and with the model in the metadata.
//
//   make_synthetic_backbones OUT_DIR    writes OUT_DIR/resnet50.safetensors, OUT_DIR/mobilenetv2.safetensors
#include <filesystem>
#include <iostream>
#include <memory>

#include "typenet/io/weights.hpp"
#include "typenet/zoo/mobilenet.hpp"
#include "typenet/zoo/resnet.hpp"

namespace fs = std::filesystem;
namespace tn = typenet;

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: make_synthetic_backbones OUT_DIR\n";
        return 2;
    }
    const fs::path out = argv[1];
    fs::create_directories(out);
    auto resnet = std::make_unique<tn::zoo::ResNet50Base<150, 150>>(7);
    tn::io::save_weights(*resnet, out / "resnet50.safetensors");
    auto mobilenet = std::make_unique<tn::zoo::MobileNetV2Base<150, 150>>(7);
    tn::io::save_weights(*mobilenet, out / "mobilenetv2.safetensors");
    std::cout << "wrote " << (out / "resnet50.safetensors").string() << " ("
              << tn::zoo::ResNet50Base<150, 150>::param_count << " random parameters) and "
              << (out / "mobilenetv2.safetensors").string() << " (" << tn::zoo::MobileNetV2Base<150, 150>::param_count
              << ")\n";
    return 0;
}
