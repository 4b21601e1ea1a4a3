// typenet-features: a backbone's features of every image of a folder, as a .npy.
//
//   typenet-features --model vgg16|resnet50|mobilenetv2 --weights W.safetensors --size 150|224
//                    [--preprocessing caffe|tf|chapter] [--interpolation nearest|bilinear] [--batch N]
//                    IMAGE_DIR OUT.npy
//
// Every image file directly in IMAGE_DIR (jpg, png, bmp, ppm, pgm, tif, webp), sorted by file
// name, is read as Keras's load_img(path, target_size=(size, size)) reads it: RGB, resized by
// nearest neighbour (PIL's NEAREST, load_img's default; --interpolation bilinear for PIL's
// BILINEAR), pixels 0..255. Then the backbone's own preprocessing, as its Keras
// preprocess_input (vgg16, resnet50: 'caffe', RGB to BGR minus the ImageNet means;
// mobilenetv2: 'tf', x / 127.5 - 1), unless --preprocessing says otherwise ('chapter' is the
// book's 1/255 for VGG-16). Then the base without pooling (include_top=False), in inference
// mode: OUT.npy is float32 (N, h, w, C): (N, 4, 4, 512) / (N, 7, 7, 512) for vgg16,
// (N, 5, 5, 2048) / (N, 7, 7, 2048) for resnet50, (N, 5, 5, 1280) / (N, 7, 7, 1280) for mobilenetv2.
//
// W.safetensors: typenet-convert's output (or save_weights of the same base). OUT.npy is
// written through a temporary file: on any error (a broken image, named; weights of another
// model; a size the tool is not built for) nothing is written and an existing OUT.npy stays.
// Exit status: 0 done, 1 failed (nothing written), 2 bad usage.
#include <algorithm>
#include <cstddef>
#include <exception>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "features.hpp"
#include "typenet/zoo/mobilenet.hpp"
#include "typenet/zoo/resnet.hpp"

namespace typenet_features {

std::vector<std::filesystem::path> image_files_in(const std::filesystem::path& folder) {
    return tn::list_image_files(folder).paths;
}

void check_weights_family(const std::filesystem::path& weights, const std::string& model_name,
                          const std::string& family, const std::string& tool_model) {
    const auto metadata = tn::io::read_safetensors_metadata(weights);
    const auto model = metadata.find("model");
    if (model == metadata.end()) return;  // no name to compare: load_weights compares every tensor
    if (model->second.rfind(family, 0) != 0)
        throw std::runtime_error(weights.string() + ": these are the weights of model '" + model->second +
                                 "', not of " + tool_model + " ('" + model_name +
                                 "'): give --model the network the file was converted for");
}

}  // namespace typenet_features

namespace {

namespace tf = typenet_features;
namespace tn = typenet;

void usage(std::ostream& out) {
    out << "usage: typenet-features --model vgg16|resnet50|mobilenetv2 --weights W.safetensors --size 150|224\n"
           "                        [--preprocessing caffe|tf|chapter] [--interpolation nearest|bilinear]\n"
           "                        [--batch N] IMAGE_DIR OUT.npy\n"
           "\n"
           "Writes the base's output (no pooling) for every image in IMAGE_DIR, sorted by name, as\n"
           "float32 (N, h, w, C). Images are resized to size x size by nearest neighbour (Keras's\n"
           "load_img default) and preprocessed as the backbone's Keras preprocess_input does\n"
           "(vgg16, resnet50: caffe; mobilenetv2: tf). Weights: typenet-convert's output.\n";
}

int run(const std::vector<std::string>& args) {
    if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
        usage(std::cout);
        return 0;
    }
    std::map<std::string, std::string> options;
    std::vector<std::string> positional;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a.rfind("--", 0) == 0) {
            static const std::vector<std::string> known{"--model", "--weights", "--size", "--preprocessing",
                                                        "--interpolation", "--batch"};
            if (std::find(known.begin(), known.end(), a) == known.end()) {
                std::cerr << "typenet-features: unknown option '" << a << "'\n";
                usage(std::cerr);
                return 2;
            }
            if (i + 1 >= args.size()) {
                std::cerr << "typenet-features: " << a << " needs a value\n";
                return 2;
            }
            options[a] = args[++i];
        } else {
            positional.push_back(a);
        }
    }
    if (!options.contains("--model") || !options.contains("--weights") || !options.contains("--size") ||
        positional.size() != 2) {
        std::cerr << "typenet-features: give --model, --weights, --size, then IMAGE_DIR and OUT.npy\n";
        usage(std::cerr);
        return 2;
    }
    tf::Request request;
    request.model = options["--model"];
    request.weights = options["--weights"];
    request.folder = positional[0];
    request.out = positional[1];
    try {
        std::size_t used = 0;
        request.size = std::stoul(options["--size"], &used);
        if (used != options["--size"].size()) throw std::invalid_argument("not a number");
        if (options.contains("--batch")) {
            request.batch = std::stoul(options["--batch"], &used);
            if (used != options["--batch"].size() || request.batch == 0) throw std::invalid_argument("not a count");
        }
    } catch (const std::exception&) {
        std::cerr << "typenet-features: --size and --batch take positive whole numbers\n";
        return 2;
    }
    if (request.size != 150 && request.size != 224) {
        std::cerr << "typenet-features: --size " << request.size
                  << ": the backbones are built here for 150x150 or 224x224 inputs\n";
        return 2;
    }
    tf::Result (*extract)(const tf::Request&) = nullptr;
    if (request.model == "vgg16") {
        extract = &tf::features_vgg16;
        request.preprocessing = tn::Preprocessing::caffe;
    } else if (request.model == "resnet50") {
        extract = &tf::features_resnet50;
        request.preprocessing = tn::zoo::resnet50_preprocessing;
    } else if (request.model == "mobilenetv2") {
        extract = &tf::features_mobilenetv2;
        request.preprocessing = tn::zoo::mobilenetv2_preprocessing;
    } else {
        std::cerr << "typenet-features: unknown model '" << request.model << "' (vgg16, resnet50, mobilenetv2)\n";
        return 2;
    }
    try {
        if (options.contains("--preprocessing")) request.preprocessing = tn::parse_preprocessing(options["--preprocessing"]);
    } catch (const std::exception& error) {
        std::cerr << "typenet-features: " << error.what() << "\n";
        return 2;
    }
    if (options.contains("--interpolation")) {
        const std::string& how = options["--interpolation"];
        if (how == "nearest") {
            request.interpolation = tn::Interpolation::nearest;
        } else if (how == "bilinear") {
            request.interpolation = tn::Interpolation::bilinear;
        } else {
            std::cerr << "typenet-features: --interpolation nearest or bilinear, not '" << how << "'\n";
            return 2;
        }
    }
    const tf::Result result = extract(request);
    std::cout << "wrote " << request.out.string() << ": float32 " << tn::io::detail::python_tuple(result.shape)
              << ", " << request.model << " features of " << result.images << " images of " << request.folder.string()
              << " (" << tn::to_string(request.preprocessing) << " preprocessing, "
              << (request.interpolation == tn::Interpolation::nearest ? "nearest" : "bilinear") << " resize)\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const std::exception& error) {
        std::cerr << "typenet-features: " << error.what() << "\n";
        return 1;
    }
}
