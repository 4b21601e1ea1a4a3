// typenet-features: the shared part of its per-model translation units (one per backbone,
// so that the three backbones at two sizes compile in parallel and each compiler stays small).
//
// extract_features<Model>(request): every image file of the folder, sorted by name, read as
// Keras's load_img(target_size=(size, size)) reads it (RGB, resized by nearest neighbour
// unless asked otherwise), preprocessed, run through the base in inference mode, written
// as float32 (N, h, w, C) to a .npy, batch by batch through one temporary file that becomes
// the output only when every image went through (nothing half-written, bounded memory).
#pragma once

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "typenet/data/image_files.hpp"
#include "typenet/data/image_loading.hpp"
#include "typenet/data/preprocessing.hpp"
#include "typenet/io/atomic_file.hpp"
#include "typenet/io/npy.hpp"
#include "typenet/io/safetensors.hpp"
#include "typenet/io/weights.hpp"
#include "typenet/model/chain.hpp"

namespace typenet_features {

namespace tn = typenet;

struct Request {
    std::string model;                      // vgg16, resnet50, mobilenetv2
    std::filesystem::path weights, folder, out;
    std::size_t size = 224;
    tn::Preprocessing preprocessing = tn::Preprocessing::caffe;
    tn::Interpolation interpolation = tn::Interpolation::nearest;
    std::size_t batch = 16;
};

// What a run reports: the images it read and the shape it wrote.
struct Result {
    std::size_t images = 0;
    std::vector<std::size_t> shape;
};

// The image files of a folder, sorted by file name (not recursive); other files are left out.
std::vector<std::filesystem::path> image_files_in(const std::filesystem::path& folder);

// A weights file meant for another network is refused before any tensor is compared:
// its metadata names the model it was saved or converted for.
void check_weights_family(const std::filesystem::path& weights, const std::string& model_name,
                          const std::string& family, const std::string& tool_model);

template <class Model>
Result extract_features(const Request& request, const std::string& family) {
    namespace fs = std::filesystem;
    using In = typename Model::input_shape;
    using Out = typename Model::output_shape;
    const auto files = image_files_in(request.folder);
    if (files.empty()) throw std::runtime_error(request.folder.string() + ": no image files in this folder");

    check_weights_family(request.weights, std::string(Model::name.view()), family, request.model);
    auto model = std::make_unique<Model>(tn::no_initialization);
    tn::io::load_weights(*model, request.weights);

    const std::vector<std::size_t> shape{files.size(), tn::dim_or_one<Out, 0>, tn::dim_or_one<Out, 1>,
                                         tn::dim_or_one<Out, 2>};
    const tn::ImageSize size{tn::dim_or_one<In, 0>, tn::dim_or_one<In, 1>, 3};
    std::vector<float> x(request.batch * In::size), y(request.batch * Out::size);
    tn::io::AtomicFile file(request.out);
    file.write(tn::io::detail::npy_header(shape));
    for (std::size_t start = 0; start < files.size(); start += request.batch) {
        const std::size_t n = std::min(request.batch, files.size() - start);
        for (std::size_t i = 0; i < n; ++i)
            tn::read_image_into(files[start + i], size, x.data() + i * In::size, request.interpolation, 1.0f);
        tn::preprocess_input(x.data(), n * In::size, 3, request.preprocessing);
        model->forward(x.data(), y.data(), n, tn::Mode::infer);
        tn::io::detail::write_f32_little_endian(file, y.data(), n * Out::size);
    }
    file.commit();
    return {files.size(), shape};
}

// Each backbone's entry, in its own translation unit: the model at 150x150 or 224x224.
Result features_vgg16(const Request& request);
Result features_resnet50(const Request& request);
Result features_mobilenetv2(const Request& request);

}  // namespace typenet_features
