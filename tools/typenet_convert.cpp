// typenet-convert: Keras HDF5 weights -> typenet safetensors, checked against the
// typenet model they are meant for.
//
//   typenet-convert --model vgg16 vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 vgg16.safetensors
//   typenet-convert --list some_weights.h5
//
// The VGG-16 file the chapter uses (Keras's VGG16(include_top=False, weights='imagenet')):
//   https://storage.googleapis.com/tensorflow/keras-applications/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5
//   md5 6d6bbae143d832006294945121d1f1fc
// Exit status: 0 done, 1 the file could not be converted (nothing written), 2 bad usage.
#include <cstddef>
#include <exception>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "typenet/io/keras_hdf5.hpp"
#include "typenet/io/weights.hpp"
#include "typenet/model/summary.hpp"
#include "typenet/zoo/vgg.hpp"

namespace {

namespace tn = typenet;

struct Target {
    std::string_view name;
    std::string_view description;
    std::size_t (*convert)(const std::filesystem::path&, const std::filesystem::path&);
    std::size_t param_count;
};

// The input size does not change a VGG's weights; the default 224x224 types stand for all.
const std::vector<Target>& targets() {
    static const std::vector<Target> list{
        {"vgg16", "Keras VGG16(include_top=False): 13 convolutions", &tn::io::convert_keras_weights<tn::zoo::VGG16Base<>>,
         tn::zoo::VGG16Base<>::param_count},
        {"vgg19", "Keras VGG19(include_top=False): 16 convolutions", &tn::io::convert_keras_weights<tn::zoo::VGG19Base<>>,
         tn::zoo::VGG19Base<>::param_count},
    };
    return list;
}

void usage(std::ostream& out) {
    out << "usage: typenet-convert --model NAME IN.h5 OUT.safetensors\n"
           "       typenet-convert --list IN.h5\n"
           "\n"
           "Converts Keras HDF5 weights (model.save_weights or model.save, Keras 1 or 2 layout) into\n"
           "typenet's safetensors weights for the model NAME, after checking every layer and shape\n"
           "against it. On any mismatch it lists the problems and writes nothing.\n"
           "--list prints the layers and weight shapes the file holds.\n"
           "\n"
           "models:\n";
    for (const auto& t : targets())
        out << "  " << t.name << std::string(8 - t.name.size(), ' ') << t.description << ", "
            << tn::thousands(t.param_count) << " parameters\n";
    out << "\nVGG-16 weights for the chapter:\n"
           "  https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
           "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5\n"
           "  (md5 6d6bbae143d832006294945121d1f1fc)\n";
}

int run(const std::vector<std::string>& args) {
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
        usage(args.empty() ? std::cerr : std::cout);
        return args.empty() ? 2 : 0;
    }
    if (args[0] == "--list") {
        if (args.size() != 2) {
            std::cerr << "typenet-convert: --list takes one file\n";
            usage(std::cerr);
            return 2;
        }
        std::cout << tn::io::describe_keras_weights(tn::io::read_keras_weights(args[1], /*read_values=*/false));
        return 0;
    }
    if (args[0] == "--model") {
        if (args.size() != 4) {
            std::cerr << "typenet-convert: --model takes a model name, an input .h5 and an output .safetensors\n";
            usage(std::cerr);
            return 2;
        }
        for (const auto& t : targets()) {
            if (t.name != args[1]) continue;
            const std::size_t count = t.convert(args[2], args[3]);
            std::cout << "wrote " << args[3] << ": " << count << " tensors, " << tn::thousands(t.param_count)
                      << " parameters of " << t.name << ", from " << args[2] << "\n";
            return 0;
        }
        std::cerr << "typenet-convert: unknown model '" << args[1] << "'\n";
        usage(std::cerr);
        return 2;
    }
    std::cerr << "typenet-convert: unknown option '" << args[0] << "'\n";
    usage(std::cerr);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const std::exception& error) {
        std::cerr << "typenet-convert: " << error.what() << "\n";
        return 1;
    }
}
