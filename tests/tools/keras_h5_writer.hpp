// Test support: writes Keras HDF5 weight files with libhdf5, in the layouts Keras
// itself writes, for any typenet model type (its layer names, its parameter shapes,
// seeded random values):
//   Keras 1 (vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5): root attr layer_names
//     (fixed-length strings, input_1 and the pools included, no keras_version), one
//     group per layer with attr weight_names, datasets <layer>_W_1:0 / <layer>_b_1:0
//     directly in the group;
//   Keras 2 (model.save_weights): keras_version/backend attrs, weight names
//     <layer>/kernel:0 in a nested group; optionally under /model_weights (model.save);
//   Keras 3's legacy writer: the same without ":0", DepthwiseConv2D's weight named kernel.
// A layer's weights are its parameters then its state (BatchNormalization: gamma, beta,
// moving_mean, moving_variance), in Keras's order.
// Options break the file in the ways the converter must report.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "typenet/model/chain.hpp"

namespace keras_h5 {

struct Options {
    bool keras2 = false;              // Keras 2 names (kernel:0) instead of Keras 1 (_W_1:0)
    bool keras3 = false;              // with keras2: Keras 3's legacy names (kernel, no ":0")
    std::string skip_weight;          // leave this weight ("conv1_bn/moving_variance") out of its layer
    bool variable_length = false;     // string attributes as variable-length (tf.keras 2.x) strings
    bool split_layer_names = false;   // layer_names0, layer_names1 (Keras's chunked attribute)
    bool model_weights_root = false;  // under /model_weights, as a whole-model save
    bool float64 = false;             // weights stored as float64
    std::string skip_layer;           // leave this layer out altogether
    std::string wrong_kernel_layer;   // give this layer's kernel twice the output channels
    std::string extra_layer;          // add a Dense-like layer of this name (kernel (8, 2), bias (2,))
    std::string missing_dataset_layer;  // list this layer's bias in weight_names but omit the dataset
};

// ---- small libhdf5 writing helpers ------------------------------------------------------

struct Id {
    hid_t id;
    herr_t (*close)(hid_t);
    Id(hid_t i, herr_t (*c)(hid_t)) : id(i), close(c) {
        if (id < 0) throw std::runtime_error("libhdf5 call failed while writing a test file");
    }
    Id(const Id&) = delete;
    Id& operator=(const Id&) = delete;
    ~Id() { close(id); }
    operator hid_t() const { return id; }
};

inline void check(herr_t status) {
    if (status < 0) throw std::runtime_error("libhdf5 call failed while writing a test file");
}

inline void write_strings(hid_t object, const std::string& name, const std::vector<std::string>& values,
                          bool variable_length, bool scalar = false) {
    Id type(H5Tcopy(H5T_C_S1), H5Tclose);
    const hsize_t count = values.size();
    Id space(scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &count, nullptr), H5Sclose);
    if (variable_length) {
        check(H5Tset_size(type, H5T_VARIABLE));
        check(H5Tset_cset(type, H5T_CSET_UTF8));
        std::vector<const char*> pointers;
        for (const auto& v : values) pointers.push_back(v.c_str());
        Id attribute(H5Acreate2(object, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
        check(H5Awrite(attribute, type, pointers.data()));
        return;
    }
    // numpy 'S<n>' as h5py stores it: n = the longest string, NUL-padded.
    std::size_t size = 1;
    for (const auto& v : values) size = std::max(size, v.size());
    check(H5Tset_size(type, size));
    check(H5Tset_strpad(type, H5T_STR_NULLPAD));
    std::string bytes(values.size() * size, '\0');
    for (std::size_t i = 0; i < values.size(); ++i) bytes.replace(i * size, values[i].size(), values[i]);
    Id attribute(H5Acreate2(object, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    check(H5Awrite(attribute, type, bytes.data()));
}

// h5py's attrs[name] = []: an empty float64 array.
inline void write_empty_list(hid_t object, const std::string& name) {
    const hsize_t zero = 0;
    Id space(H5Screate_simple(1, &zero, nullptr), H5Sclose);
    Id attribute(H5Acreate2(object, name.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
}

inline void write_dataset(hid_t group, const std::string& name, const std::vector<std::size_t>& shape,
                          const std::vector<float>& values, bool float64) {
    std::vector<hsize_t> dims(shape.begin(), shape.end());
    Id space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
    Id links(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
    check(H5Pset_create_intermediate_group(links, 1));  // "block1_conv1/kernel:0" makes the inner group
    Id dataset(H5Dcreate2(group, name.c_str(), float64 ? H5T_IEEE_F64LE : H5T_IEEE_F32LE, space, links, H5P_DEFAULT,
                          H5P_DEFAULT),
               H5Dclose);
    if (float64) {
        std::vector<double> wide(values.begin(), values.end());
        check(H5Dwrite(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, wide.data()));
    } else {
        check(H5Dwrite(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()));
    }
}

struct LayerWeights {
    std::string name;
    std::vector<std::pair<std::string, std::vector<std::size_t>>> weights;  // (kernel|bias, shape)
};

// The layers of model type M in order (weightless ones included), with their weight shapes.
template <class M>
std::vector<LayerWeights> layers_of() {
    std::vector<LayerWeights> layers;
    const M model(typenet::no_initialization);
    // Every layer as Keras lists it: a block's layers are the model's own (ResNet, MobileNetV2).
    model.for_each_layer([&](const auto& layer, int depth) {
        if (depth == 0) layers.push_back({std::string(layer.name.view()), {}});
    });
    model.for_each_weight([&](std::string_view layer, const auto& parameter, bool) {
        for (auto& l : layers)
            if (l.name == layer) l.weights.emplace_back(std::string(parameter.name), parameter.shape);
    });
    return layers;
}

// Writes the file; returns the values written, by typenet tensor name ("block1_conv1/kernel").
template <class M>
std::map<std::string, std::vector<float>> write_file(const std::filesystem::path& path, const Options& options,
                                                     std::uint32_t seed = 1) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> uniform(-0.5f, 0.5f);
    std::map<std::string, std::vector<float>> written;

    std::vector<LayerWeights> layers{{"input_1", {}}};
    for (auto& l : layers_of<M>()) layers.push_back(std::move(l));
    if (!options.extra_layer.empty()) layers.push_back({options.extra_layer, {{"kernel", {8, 2}}, {"bias", {2}}}});

    Id file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    Id root(options.model_weights_root ? H5Gcreate2(file, "model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)
                                       : H5Gopen2(file, "/", H5P_DEFAULT),
            H5Gclose);
    std::vector<std::string> names;
    for (const auto& l : layers)
        if (l.name != options.skip_layer) names.push_back(l.name);
    if (options.split_layer_names) {
        const std::size_t half = names.size() / 2;
        write_strings(root, "layer_names0", {names.begin(), names.begin() + static_cast<std::ptrdiff_t>(half)},
                      options.variable_length);
        write_strings(root, "layer_names1", {names.begin() + static_cast<std::ptrdiff_t>(half), names.end()},
                      options.variable_length);
    } else {
        write_strings(root, "layer_names", names, options.variable_length);
    }
    if (options.keras2 || options.keras3) {
        write_strings(root, "keras_version", {options.keras3 ? "3.15.1" : "2.2.4"}, options.variable_length, true);
        write_strings(root, "backend", {"tensorflow"}, options.variable_length, true);
    }

    for (const auto& layer : layers) {
        if (layer.name == options.skip_layer) continue;
        Id group(H5Gcreate2(root, layer.name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
        if (layer.weights.empty()) {
            write_empty_list(group, "weight_names");
            continue;
        }
        std::vector<std::string> weight_names;
        for (const auto& [role, shape_in] : layer.weights) {
            auto shape = shape_in;
            if (role == "kernel" && layer.name == options.wrong_kernel_layer) shape.back() *= 2;
            if (layer.name + "/" + role == options.skip_weight) continue;
            const std::string keras3_role = role == "depthwise_kernel" ? "kernel" : role;
            const std::string name = options.keras3   ? layer.name + "/" + keras3_role
                                     : options.keras2 ? layer.name + "/" + role + ":0"
                                                      : layer.name + (role == "kernel" ? "_W_1:0" : "_b_1:0");
            weight_names.push_back(name);
            std::size_t count = 1;
            for (auto d : shape) count *= d;
            std::vector<float> values(count);
            for (auto& v : values) v = uniform(rng);
            if (!(role == "bias" && layer.name == options.missing_dataset_layer))
                write_dataset(group, name, shape, values, options.float64);
            written[layer.name + "/" + role] = std::move(values);
        }
        write_strings(group, "weight_names", weight_names, options.variable_length);
    }
    return written;
}

}  // namespace keras_h5
