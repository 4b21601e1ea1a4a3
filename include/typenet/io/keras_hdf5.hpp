// typenet/io/keras_hdf5.hpp  (component typenet::hdf5: needs libhdf5)
// Keras's HDF5 weight files, read as Keras's own loader reads them, and converted
// once into typenet's safetensors weights for a given model type.
//
// Getting the VGG-16 weights the chapter uses (Keras's VGG16(include_top=False)):
//   https://storage.googleapis.com/tensorflow/keras-applications/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5
//   (md5 6d6bbae143d832006294945121d1f1fc), then
//   typenet-convert --model vgg16 vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 vgg16.safetensors
//
// The layouts (keras-team/keras 2.2.4 keras/engine/saving.py, load_weights_from_hdf5_group
// and load_attributes_from_hdf5_group; Keras 1's topology.py wrote the same skeleton):
//   root (or /model_weights in a whole-model save)
//     attr layer_names      every layer in order, weightless ones (input_1, pools) included;
//                           split into layer_names0, layer_names1, ... when it would exceed
//                           the 64 KiB object-header limit
//     attr keras_version, backend   Keras 2 only (Keras's loader assumes '1' when absent)
//     /<layer>              one group per layer
//       attr weight_names   the layer's weights in order (also split when large; an empty
//                           float64 array for a layer without weights, as h5py stores [])
//       <weight name>       a dataset, found by that name relative to the layer's group:
//                           Keras 1: block1_conv1_W_1:0, block1_conv1_b_1:0 (directly in it);
//                           Keras 2: block1_conv1/kernel:0 (a nested group block1_conv1).
// Strings come fixed-length (numpy bytes, Keras 1/2.2 via h5py 2) or variable-length
// (tf.keras 2.x via h5py 3); both are read. Weights may be float32 or float64 (converted).
//
// Keras matches a file to a model by position (the n-th layer with weights gets the n-th
// group with weights) and a layer's weights by position. We match layers by name, which
// Keras's applications keep stable, and so can say which layer is missing or extra;
// within a layer a weight is named from its Keras name (kernel, bias; Keras 1's _W, _b)
// or, when the name says nothing, by position (first kernel, then bias) as Keras does.
//
// API:
//   read_keras_weights(path, read_values = true) -> KerasWeightsFile
//   describe_keras_weights(file)                  the text of `typenet-convert --list`
//   keras_tensors_for<Model>(file)                the tensors for Model, or WeightsMismatch
//   convert_keras_weights<Model>(h5, out)         h5 -> safetensors, atomically, nothing on error
// Errors: FormatError (io/format_error.hpp) naming the file and the layer or dataset at
// fault; WeightsMismatch (io/weights.hpp) listing every missing/extra layer and shape
// difference, with both shapes.
#pragma once

#include <hdf5.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "typenet/io/format_error.hpp"
#include "typenet/io/safetensors.hpp"
#include "typenet/io/weights.hpp"
#include "typenet/model/chain.hpp"

namespace typenet::io {

// One weight of a Keras layer as the file holds it.
struct KerasWeight {
    std::string name;          // as in weight_names: "block1_conv1_W_1:0", "block1_conv1/kernel:0"
    std::string tensor_name;   // typenet's name for it: "block1_conv1/kernel"
    std::vector<std::size_t> shape;
    std::string dtype;         // "float32", "float64", ... as stored
    std::vector<float> values; // empty when read without values
    // The element count (the reader refuses shapes whose product overflows).
    [[nodiscard]] std::size_t size() const { return detail::element_count(shape).value_or(SIZE_MAX); }
};

struct KerasLayer {
    std::string name;
    std::vector<KerasWeight> weights;  // empty for input and pooling layers
};

struct KerasWeightsFile {
    std::filesystem::path path;
    std::string root;           // "/" for save_weights files, "/model_weights" for whole-model saves
    std::string keras_version;  // "" when the file does not say (Keras 1)
    std::string backend;        // "" when the file does not say
    std::vector<KerasLayer> layers;  // in layer_names order

    [[nodiscard]] std::size_t parameter_count() const {  // saturates rather than wrapping
        std::size_t count = 0;
        for (const auto& layer : layers)
            for (const auto& weight : layer.weights) count = weight.size() > SIZE_MAX - count ? SIZE_MAX : count + weight.size();
        return count;
    }
};

namespace detail {

// ---- where the reader is, for a crash report ---------------------------------------------

// What this thread's read_keras_weights is reading now ("FILE, layer 'L', dataset 'D'"),
// kept in a fixed per-thread buffer so a fatal-signal handler (which runs on the thread
// that crashed) can print it with write(2), async-signal-safe: if libhdf5 crashes on a
// corrupt file, typenet-convert still says which file and layer.
inline thread_local char keras_read_position_buffer[512] = "";

inline void set_keras_read_position(const std::filesystem::path& file, std::string_view layer = {},
                                    std::string_view dataset = {}) {
    std::string text = file.string();
    if (!layer.empty()) text += ", layer '" + std::string(layer) + "'";
    if (!dataset.empty()) text += ", dataset '" + std::string(dataset) + "'";
    const std::size_t n = std::min(text.size(), sizeof(keras_read_position_buffer) - 1);
    keras_read_position_buffer[0] = '\0';  // a signal mid-update sees "", never a torn string
    std::memcpy(keras_read_position_buffer + 1, text.data() + 1, n > 0 ? n - 1 : 0);
    keras_read_position_buffer[n] = '\0';
    if (n > 0) keras_read_position_buffer[0] = text[0];
}

// ---- libhdf5 handles and errors -------------------------------------------------------

// Owns one HDF5 identifier and closes it with the matching H5?close.
class H5Handle {
public:
    H5Handle() = default;
    H5Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
    H5Handle(const H5Handle&) = delete;
    H5Handle& operator=(const H5Handle&) = delete;
    H5Handle(H5Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)), close_(other.close_) {}
    H5Handle& operator=(H5Handle&& other) noexcept {
        std::swap(id_, other.id_);
        std::swap(close_, other.close_);
        return *this;
    }
    ~H5Handle() {
        if (id_ >= 0 && close_ != nullptr) close_(id_);
    }
    [[nodiscard]] hid_t get() const { return id_; }
    [[nodiscard]] bool valid() const { return id_ >= 0; }

private:
    hid_t id_ = H5I_INVALID_HID;
    herr_t (*close_)(hid_t) = nullptr;
};

// libhdf5 prints its error stack to stderr by default; while we read, we report errors
// ourselves (with the file and dataset names), so the automatic printing is paused.
class H5QuietErrors {
public:
    H5QuietErrors() {
        H5Eget_auto2(H5E_DEFAULT, &function_, &data_);
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    }
    H5QuietErrors(const H5QuietErrors&) = delete;
    H5QuietErrors& operator=(const H5QuietErrors&) = delete;
    ~H5QuietErrors() { H5Eset_auto2(H5E_DEFAULT, function_, data_); }

private:
    H5E_auto2_t function_ = nullptr;
    void* data_ = nullptr;
};

// The innermost description libhdf5 left on its error stack ("" if none).
inline std::string h5_last_error() {
    std::string text;
    H5Ewalk2(
        H5E_DEFAULT, H5E_WALK_DOWNWARD,
        [](unsigned, const H5E_error2_t* error, void* out) -> herr_t {
            if (error->desc != nullptr && *error->desc != '\0') *static_cast<std::string*>(out) = error->desc;
            return 0;
        },
        &text);
    H5Eclear2(H5E_DEFAULT);
    return text.empty() ? std::string() : " (libhdf5: " + text + ")";
}

inline std::string join_h5_path(std::string_view group, std::string_view name) {
    std::string path(group);
    if (path.empty() || path.back() != '/') path += '/';
    return path + std::string(name);
}

// ---- attributes: string lists, possibly chunked ---------------------------------------

// Reads a string or list-of-strings attribute, fixed- or variable-length. An attribute
// holding no elements of any type (h5py's empty array) is an empty list.
inline std::vector<std::string> read_string_attribute(hid_t object, const std::string& object_path,
                                                      const std::string& name, const std::filesystem::path& file) {
    const std::string where = join_h5_path(object_path, "") + "@" + name;
    H5Handle attribute(H5Aopen(object, name.c_str(), H5P_DEFAULT), H5Aclose);
    if (!attribute.valid()) throw FormatError(file, "cannot open attribute " + where + h5_last_error());
    H5Handle type(H5Aget_type(attribute.get()), H5Tclose);
    H5Handle space(H5Aget_space(attribute.get()), H5Sclose);
    if (!type.valid() || !space.valid()) throw FormatError(file, "cannot read attribute " + where + h5_last_error());
    const hssize_t points = H5Sget_simple_extent_npoints(space.get());
    if (points < 0) throw FormatError(file, "cannot read the size of attribute " + where + h5_last_error());
    const auto count = static_cast<std::size_t>(points);
    std::vector<std::string> result;
    if (count == 0) return result;
    if (H5Tget_class(type.get()) != H5T_STRING)
        throw FormatError(file, "attribute " + where + " should hold strings (layer or weight names) but holds " +
                                    std::to_string(count) + " numbers: not a Keras weights file");

    if (H5Tis_variable_str(type.get()) > 0) {
        H5Handle memory(H5Tcopy(H5T_C_S1), H5Tclose);
        H5Tset_size(memory.get(), H5T_VARIABLE);
        H5Tset_cset(memory.get(), H5Tget_cset(type.get()));
        std::vector<char*> strings(count, nullptr);
        if (H5Aread(attribute.get(), memory.get(), strings.data()) < 0)
            throw FormatError(file, "cannot read the strings of attribute " + where + h5_last_error());
        for (char* s : strings) {
            result.emplace_back(s != nullptr ? s : "");
            if (s != nullptr) H5free_memory(s);
        }
        return result;
    }
    // Fixed length: `size` bytes per string, padded with NULs (numpy 'S') or spaces.
    const std::size_t size = H5Tget_size(type.get());
    if (size == 0) throw FormatError(file, "attribute " + where + " has strings of size 0");
    H5Handle memory(H5Tcopy(type.get()), H5Tclose);
    std::string bytes(count * size, '\0');
    if (H5Aread(attribute.get(), memory.get(), bytes.data()) < 0)
        throw FormatError(file, "cannot read the strings of attribute " + where + h5_last_error());
    const bool space_padded = H5Tget_strpad(type.get()) == H5T_STR_SPACEPAD;
    for (std::size_t i = 0; i < count; ++i) {
        std::string s = bytes.substr(i * size, size);
        s.resize(std::min(s.find('\0'), s.size()));
        if (space_padded)
            while (!s.empty() && s.back() == ' ') s.pop_back();
        result.push_back(std::move(s));
    }
    return result;
}

inline bool has_attribute(hid_t object, const std::string& name) { return H5Aexists(object, name.c_str()) > 0; }

// Keras's load_attributes_from_hdf5_group: `name`, or else name0, name1, ... in order.
inline std::optional<std::vector<std::string>> read_chunked_attribute(hid_t object, const std::string& object_path,
                                                                     const std::string& name,
                                                                     const std::filesystem::path& file) {
    if (has_attribute(object, name)) return read_string_attribute(object, object_path, name, file);
    if (!has_attribute(object, name + "0")) return std::nullopt;
    std::vector<std::string> all;
    for (int chunk = 0; has_attribute(object, name + std::to_string(chunk)); ++chunk) {
        auto part = read_string_attribute(object, object_path, name + std::to_string(chunk), file);
        all.insert(all.end(), part.begin(), part.end());
    }
    return all;
}

inline std::string read_text_attribute(hid_t object, const std::string& object_path, const std::string& name,
                                       const std::filesystem::path& file) {
    if (!has_attribute(object, name)) return {};
    const auto values = read_string_attribute(object, object_path, name, file);
    return values.empty() ? std::string() : values.front();
}

inline bool has_link(hid_t group, const std::string& name) {
    return H5Lexists(group, name.c_str(), H5P_DEFAULT) > 0;
}

// The names of the objects directly in a group (for error messages).
inline std::vector<std::string> group_members(hid_t group) {
    std::vector<std::string> names;
    H5Literate(
        group, H5_INDEX_NAME, H5_ITER_INC, nullptr,
        [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
            static_cast<std::vector<std::string>*>(out)->emplace_back(name);
            return 0;
        },
        &names);
    H5Eclear2(H5E_DEFAULT);
    return names;
}

inline std::string shape_text(const std::vector<std::size_t>& shape) {
    std::string text = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + (shape.size() == 1 ? ",)" : ")");
}

// ---- datasets ---------------------------------------------------------------------------

inline std::string float_type_name(hid_t type) {
    if (H5Tget_class(type) == H5T_FLOAT) return "float" + std::to_string(8 * H5Tget_size(type));
    if (H5Tget_class(type) == H5T_INTEGER) return "int" + std::to_string(8 * H5Tget_size(type));
    return "non-numeric";
}

// deflate, the strongest filter Keras files use, compresses at most about 1032:1.
inline constexpr std::uint64_t h5_max_compression_ratio = 1100;

// Before a weight's values are allocated: the bytes the file stores for it must be
// able to hold its shape (a dataset claiming 100000 x 100000 with nothing stored must
// not become a 40 GB allocation). Uncompressed data must be all there; compressed data
// within deflate's ratio; and no dataset stores more than the file's size.
inline void check_weight_storage(hid_t dataset, const std::string& dataset_path, const KerasWeight& weight,
                                 std::size_t width, const std::filesystem::path& file) {
    const std::uint64_t needed = static_cast<std::uint64_t>(weight.size()) * width;
    if (needed == 0) return;
    const std::uint64_t stored = H5Dget_storage_size(dataset);
    H5Handle plist(H5Dget_create_plist(dataset), H5Pclose);
    const int filters = plist.valid() ? H5Pget_nfilters(plist.get()) : 0;
    const std::string claim = "its shape " + shape_text(weight.shape) + " of " + weight.dtype + " needs " +
                              std::to_string(needed) + " bytes, ";
    if (stored == 0)
        throw FormatError(file, dataset_path, claim + "but the file stores none of them: damaged or incomplete");
    std::error_code ignored;
    const auto file_size = std::filesystem::file_size(file, ignored);
    if (!ignored && stored > file_size)
        throw FormatError(file, dataset_path, claim + "and the file claims to store " + std::to_string(stored) +
                                                  " bytes for it, more than its own size: damaged");
    if (filters <= 0 && stored < needed)
        throw FormatError(file, dataset_path, claim + "but the file stores only " + std::to_string(stored) +
                                                  " (uncompressed): truncated or damaged");
    if (filters > 0 && needed / h5_max_compression_ratio > stored)
        throw FormatError(file, dataset_path, claim + "but the file stores only " + std::to_string(stored) +
                                                  " compressed: more than deflate could ever expand, damaged");
}

// Reads one weight dataset as float32 (libhdf5 converts float64 and byte order).
inline void read_weight(hid_t layer_group, const std::string& layer_path, KerasWeight& weight,
                        const std::filesystem::path& file, bool read_values) {
    const std::string dataset_path = join_h5_path(layer_path, weight.name);
    // H5Dopen2 follows '/' in the name through nested groups, as h5py's g[name] does.
    H5Handle dataset(H5Dopen2(layer_group, weight.name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!dataset.valid())
        throw FormatError(file, dataset_path,
                          "weight_names of layer '" + std::string(layer_path.substr(layer_path.rfind('/') + 1)) +
                              "' lists this dataset, but the file has none there" + h5_last_error());
    H5Handle type(H5Dget_type(dataset.get()), H5Tclose);
    H5Handle space(H5Dget_space(dataset.get()), H5Sclose);
    if (!type.valid() || !space.valid()) throw FormatError(file, dataset_path, "cannot read it" + h5_last_error());
    weight.dtype = float_type_name(type.get());
    if (H5Tget_class(type.get()) != H5T_FLOAT)
        throw FormatError(file, dataset_path, "a weight must hold floating-point numbers, this holds " + weight.dtype);
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0) throw FormatError(file, dataset_path, "cannot read its shape" + h5_last_error());
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
    if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    weight.shape.assign(dims.begin(), dims.end());
    const std::size_t width = H5Tget_size(type.get());
    if (!addressable(weight.shape, std::max<std::size_t>(width, sizeof(float))) || !element_count(weight.shape))
        throw FormatError(file, dataset_path, "shape " + shape_text(weight.shape) +
                                                  " is too large to address (the product of its dimensions "
                                                  "overflows): the file is damaged");
    if (!read_values) return;
    check_weight_storage(dataset.get(), dataset_path, weight, width, file);
    weight.values.resize(weight.size());
    if (!weight.values.empty() &&
        H5Dread(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, weight.values.data()) < 0)
        throw FormatError(file, dataset_path, "cannot read its " + weight.dtype + " values" + h5_last_error());
}

// ---- naming: Keras weight names to typenet tensor names ----------------------------------

inline bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

// "kernel:0" -> "kernel"; TensorFlow's output index is not part of the name.
inline std::string_view strip_output_index(std::string_view name) {
    const std::size_t colon = name.rfind(':');
    if (colon != std::string_view::npos && all_digits(name.substr(colon + 1))) return name.substr(0, colon);
    return name;
}

// "block1_conv1_1" is block1_conv1 made a second time in one TensorFlow graph.
inline bool is_same_layer(std::string_view prefix, std::string_view layer) {
    if (prefix == layer) return true;
    return prefix.size() > layer.size() + 1 && prefix.substr(0, layer.size()) == layer &&
           prefix[layer.size()] == '_' && all_digits(prefix.substr(layer.size() + 1));
}

// The Keras role of a weight from its base name, or "" when the name does not say:
// Keras 2 "kernel"/"bias"/...; Keras 1 "<layer>_W" / "<layer>_b" (with TensorFlow's "_1").
inline std::string weight_role(std::string_view base) {
    static const std::set<std::string_view> keras2 = {"kernel", "bias", "gamma", "beta", "moving_mean",
                                                      "moving_variance", "depthwise_kernel", "pointwise_kernel",
                                                      "embeddings", "recurrent_kernel"};
    if (keras2.contains(base)) return std::string(base);
    std::string_view stem = base;
    if (const std::size_t underscore = stem.rfind('_');
        underscore != std::string_view::npos && all_digits(stem.substr(underscore + 1)))
        stem = stem.substr(0, underscore);
    if (stem.ends_with("_W") || stem == "W") return "kernel";
    if (stem.ends_with("_b") || stem == "b") return "bias";
    return {};
}

// typenet's tensor name for the `position`-th of `count` weights of layer `layer`:
//   block1_conv1 + "block1_conv1/kernel:0"  -> block1_conv1/kernel
//   block1_conv1 + "block1_conv1_W_1:0"     -> block1_conv1/kernel
//   vgg16 + "block1_conv1/kernel:0"         -> vgg16/block1_conv1/kernel   (a nested model)
//   dense_1 + "param_0"                     -> dense_1/kernel               (by position)
inline std::string keras_tensor_name(std::string_view layer, std::string_view weight_name, std::size_t position,
                                     std::size_t count) {
    const std::string_view name = strip_output_index(weight_name);
    const std::size_t slash = name.rfind('/');
    const std::string_view prefix = slash == std::string_view::npos ? std::string_view{} : name.substr(0, slash);
    const std::string_view base = slash == std::string_view::npos ? name : name.substr(slash + 1);

    std::string path(layer);
    if (!prefix.empty() && !is_same_layer(prefix, layer)) {
        // A weight of a layer inside a nested model: keep the inner layer's name.
        std::string_view inner = prefix;
        if (inner.size() > layer.size() && inner.substr(0, layer.size()) == layer && inner[layer.size()] == '/')
            inner = inner.substr(layer.size() + 1);
        path += "/" + std::string(inner);
    }
    std::string role = weight_role(base);
    if (role.empty() && count <= 2) role = position == 0 ? "kernel" : "bias";  // Keras's loader is positional
    if (role.empty()) role = std::string(base);
    return path + "/" + role;
}

inline std::string layer_of(std::string_view tensor_name) {
    return std::string(tensor_name.substr(0, tensor_name.rfind('/')));
}

}  // namespace detail

// Reads a Keras HDF5 weights file (save_weights or a whole-model save). With
// read_values = false only names, shapes and types are read (for --list).
inline KerasWeightsFile read_keras_weights(const std::filesystem::path& path, bool read_values = true) {
    using detail::H5Handle;
    const detail::H5QuietErrors quiet;
    detail::set_keras_read_position(path);
    if (!std::filesystem::exists(path)) throw FormatError(path, "no such file");
    if (std::filesystem::is_directory(path)) throw FormatError(path, "is a directory, not a Keras .h5 weights file");
    const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
    if (is_hdf5 <= 0)
        throw FormatError(path, is_hdf5 == 0 ? "not an HDF5 file (Keras weights are .h5 files written by "
                                               "model.save_weights or model.save)"
                                             : "cannot read the file" + detail::h5_last_error());
    H5Handle h5(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
    if (!h5.valid()) throw FormatError(path, "cannot open it as HDF5" + detail::h5_last_error());

    KerasWeightsFile result;
    result.path = path;
    H5Handle file_root(H5Gopen2(h5.get(), "/", H5P_DEFAULT), H5Gclose);
    H5Handle root;
    if (detail::has_attribute(file_root.get(), "layer_names") || detail::has_attribute(file_root.get(), "layer_names0")) {
        result.root = "/";
        root = std::move(file_root);
    } else if (detail::has_link(file_root.get(), "model_weights")) {
        result.root = "/model_weights";
        root = H5Handle(H5Gopen2(h5.get(), "/model_weights", H5P_DEFAULT), H5Gclose);
        if (!root.valid()) throw FormatError(path, "cannot open group /model_weights" + detail::h5_last_error());
        // Whole-model saves keep the version at the top too; prefer the weights group's.
        result.keras_version = detail::read_text_attribute(file_root.get(), "/", "keras_version", path);
        result.backend = detail::read_text_attribute(file_root.get(), "/", "backend", path);
    } else {
        std::string members;
        for (const auto& m : detail::group_members(file_root.get())) members += (members.empty() ? "" : ", ") + m;
        throw FormatError(path, "not a Keras weights file: the root has no 'layer_names' attribute and no "
                                "'model_weights' group (it holds: " + (members.empty() ? "nothing" : members) + ")");
    }
    if (auto version = detail::read_text_attribute(root.get(), result.root, "keras_version", path); !version.empty())
        result.keras_version = version;
    if (auto backend = detail::read_text_attribute(root.get(), result.root, "backend", path); !backend.empty())
        result.backend = backend;

    const auto layer_names = detail::read_chunked_attribute(root.get(), result.root, "layer_names", path);
    if (!layer_names)
        throw FormatError(path, "group " + result.root + " has no 'layer_names' attribute: not a Keras weights file");
    std::set<std::string> seen_tensors;
    for (const auto& layer_name : *layer_names) {
        const std::string layer_path = detail::join_h5_path(result.root, layer_name);
        detail::set_keras_read_position(path, layer_name);
        if (layer_name.empty() || !detail::has_link(root.get(), layer_name))
            throw FormatError(path, "layer_names lists layer '" + layer_name + "' but there is no group " + layer_path);
        H5Handle group(H5Gopen2(root.get(), layer_name.c_str(), H5P_DEFAULT), H5Gclose);
        if (!group.valid())
            throw FormatError(path, "layer '" + layer_name + "': " + layer_path + " is not a group" + detail::h5_last_error());
        KerasLayer layer{layer_name, {}};
        const auto weight_names = detail::read_chunked_attribute(group.get(), layer_path, "weight_names", path);
        if (!weight_names)
            throw FormatError(path, "layer '" + layer_name + "': group " + layer_path +
                                        " has no 'weight_names' attribute");
        for (std::size_t i = 0; i < weight_names->size(); ++i) {
            KerasWeight weight;
            weight.name = (*weight_names)[i];
            weight.tensor_name = detail::keras_tensor_name(layer_name, weight.name, i, weight_names->size());
            detail::set_keras_read_position(path, layer_name, weight.name);
            detail::read_weight(group.get(), layer_path, weight, path, read_values);
            if (!seen_tensors.insert(weight.tensor_name).second)
                throw FormatError(path, detail::join_h5_path(layer_path, weight.name),
                                  "a second weight that maps to " + weight.tensor_name);
            layer.weights.push_back(std::move(weight));
        }
        result.layers.push_back(std::move(layer));
    }
    return result;
}

// What read_keras_weights is reading at this moment on this thread ("" before any read):
// for a fatal-signal handler to print with write(2) if libhdf5 crashes on a corrupt file.
inline const char* keras_read_position() noexcept { return detail::keras_read_position_buffer; }

// What `typenet-convert --list` prints: the layers and weights a file holds.
inline std::string describe_keras_weights(const KerasWeightsFile& file) {
    std::string text = file.path.string() + "\n";
    text += "  layout: " + std::string(file.root == "/" ? "weights file (model.save_weights)"
                                                         : "whole model (model.save), weights under /model_weights") +
            "\n";
    text += "  keras_version: " + (file.keras_version.empty() ? std::string("(not recorded: Keras 1)") : file.keras_version) +
            ", backend: " + (file.backend.empty() ? std::string("(not recorded)") : file.backend) + "\n";
    std::size_t with_weights = 0, tensors = 0;
    for (const auto& layer : file.layers) {
        text += layer.name + (layer.weights.empty() ? "  (no weights)" : "") + "\n";
        with_weights += layer.weights.empty() ? 0 : 1;
        for (const auto& weight : layer.weights) {
            ++tensors;
            std::string line = "  " + weight.name;
            line.append(line.size() < 34 ? 34 - line.size() : 1, ' ');
            line += detail::shape_text(weight.shape);
            line.append(line.size() < 56 ? 56 - line.size() : 1, ' ');
            text += line + weight.dtype + "  -> " + weight.tensor_name + "\n";
        }
    }
    text += std::to_string(file.layers.size()) + " layers, " + std::to_string(with_weights) + " with weights, " +
            std::to_string(tensors) + " tensors, " + std::to_string(file.parameter_count()) + " parameters\n";
    return text;
}

// The file's weights as tensors for model type M, in M's parameter order, after
// checking that they fit: every layer of M with weights is in the file, no layer with
// weights is in the file that M lacks, and every shape is M's. Otherwise throws
// WeightsMismatch listing every problem.
namespace detail {
template <class M>
std::vector<TensorData> match_keras_tensors(const KerasWeightsFile& file, bool need_values) {
    std::map<std::string, const KerasWeight*> by_tensor;
    std::map<std::string, std::vector<const KerasWeight*>> file_layers;  // tensor-name layer path -> weights
    std::vector<std::string> file_layer_order;
    for (const auto& layer : file.layers)
        for (const auto& weight : layer.weights) {
            by_tensor.emplace(weight.tensor_name, &weight);
            const std::string path = detail::layer_of(weight.tensor_name);
            if (!file_layers.contains(path)) file_layer_order.push_back(path);
            file_layers[path].push_back(&weight);
        }

    // The model's parameters by layer, in order (a zero-initialised model: only names and shapes are used).
    struct Expected {
        std::string tensor;
        std::vector<std::size_t> shape;
    };
    std::vector<std::string> model_layer_order;
    std::map<std::string, std::vector<Expected>> model_layers;
    {
        const M model(no_initialization);
        model.for_each_weight([&](std::string_view layer_path, const auto& parameter, bool) {
            const std::string path(layer_path);
            if (!model_layers.contains(path)) model_layer_order.push_back(path);
            model_layers[path].push_back({path + "/" + std::string(parameter.name), parameter.shape});
        });
    }

    auto weights_text = [](const auto& list, auto&& shape_of, auto&& name_of) {
        std::string text;
        for (const auto& w : list) text += (text.empty() ? "" : ", ") + name_of(w) + " " + detail::shape_text(shape_of(w));
        return text;
    };
    auto base_name = [](const std::string& tensor) { return tensor.substr(tensor.rfind('/') + 1); };

    std::vector<std::string> problems;
    std::vector<TensorData> tensors;
    std::set<const KerasWeight*> matched;
    const std::size_t shared_layers = static_cast<std::size_t>(std::count_if(
        model_layer_order.begin(), model_layer_order.end(), [&](const std::string& l) { return file_layers.contains(l); }));
    for (const auto& layer : model_layer_order) {
        const auto& expected = model_layers[layer];
        if (!file_layers.contains(layer)) {
            problems.push_back("missing layer " + layer + " (the model expects " +
                               weights_text(expected, [](const Expected& e) { return e.shape; },
                                            [&](const Expected& e) { return base_name(e.tensor); }) +
                               ")");
            continue;
        }
        for (const auto& e : expected) {
            auto found = by_tensor.find(e.tensor);
            // Keras 3 calls DepthwiseConv2D's weight `kernel` (its legacy HDF5 writer spells
            // block_1_depthwise/kernel); Keras 2's application files, `depthwise_kernel`.
            if (found == by_tensor.end() && base_name(e.tensor) == "depthwise_kernel")
                found = by_tensor.find(layer + "/kernel");
            if (found != by_tensor.end()) matched.insert(found->second);
            if (found == by_tensor.end()) {
                problems.push_back("layer " + layer + ": missing weight " + base_name(e.tensor) + " " +
                                   detail::shape_text(e.shape) + " (the file's " + layer + " holds " +
                                   weights_text(file_layers[layer], [](const KerasWeight* w) { return w->shape; },
                                                [](const KerasWeight* w) { return w->name; }) +
                                   ")");
            } else if (found->second->shape != e.shape) {
                std::string problem = "layer " + layer + ": " + base_name(e.tensor) + " shape mismatch: file has " +
                                      detail::shape_text(found->second->shape) + " (" + found->second->name +
                                      "), model expects " + detail::shape_text(e.shape);
                const auto& s = found->second->shape;
                if (s.size() == 4 && e.shape.size() == 4 && s[0] == e.shape[3] && s[1] == e.shape[2] &&
                    s[2] == e.shape[0] && s[3] == e.shape[1])
                    problem += " -- a channels-first (Theano) kernel: use the *_tf_dim_ordering_tf_kernels file";
                problems.push_back(problem);
            } else {
                tensors.push_back({e.tensor, e.shape, found->second->values});
            }
        }
        for (const KerasWeight* w : file_layers[layer])
            if (!matched.contains(w))
                problems.push_back("layer " + layer + ": extra weight " + w->name + " " + detail::shape_text(w->shape) +
                                   " (read as " + base_name(w->tensor_name) + "; the model has no such weight)");
    }
    std::vector<std::string> extra_layers;
    for (const auto& layer : file_layer_order)
        if (!model_layers.contains(layer)) {
            extra_layers.push_back(layer);
            problems.push_back("extra layer " + layer + " in the file (" +
                               weights_text(file_layers[layer], [](const KerasWeight* w) { return w->shape; },
                                            [](const KerasWeight* w) { return w->name; }) +
                               "): the model has no layer of that name");
        }
    if (!problems.empty()) {
        std::string message = detail::mismatch_message(file.path.string(), "Keras weights", M::name.view(), problems);
        // Another network's file (a VGG-16 file given for ResNet-50): say so first, not
        // only in the hundreds of missing and extra layers below.
        if (shared_layers == 0 && !file_layer_order.empty())
            message.insert(message.find('\n') == std::string::npos ? message.size() : message.find('\n'),
                           "\n  none of the model's " + std::to_string(model_layer_order.size()) +
                               " layers with weights is in the file: it holds another network's weights (its first "
                               "layer with weights is " + file_layer_order.front() + ", the model's is " +
                               (model_layer_order.empty() ? std::string("none") : model_layer_order.front()) + ")");
        if (std::any_of(extra_layers.begin(), extra_layers.end(),
                        [](const std::string& l) { return l == "fc1" || l == "fc2" || l == "predictions"; }))
            message += "\n  hint: this file includes the classifier on top (fc1, fc2, predictions); the "
                       "convolutional base is in the *_notop.h5 file";
        throw WeightsMismatch(message, std::move(problems));
    }
    for (const auto& t : tensors)  // read without values: nothing to convert
        if (need_values && t.values.size() != element_count(t.shape))
            throw std::invalid_argument("keras_tensors_for: " + file.path.string() +
                                        " was read without its values (read_keras_weights(path, false))");
    return tensors;
}
}  // namespace detail

// The file's weights as tensors for model type M (see above).
template <class M>
std::vector<TensorData> keras_tensors_for(const KerasWeightsFile& file) {
    return detail::match_keras_tensors<M>(file, true);
}

// Safetensors metadata recording where converted weights came from.
template <class M>
std::map<std::string, std::string> keras_conversion_metadata(const KerasWeightsFile& file) {
    std::map<std::string, std::string> metadata{
        {"format", "typenet"},
        {"model", std::string(M::name.view())},
        {"param_count", std::to_string(M::param_count)},
        {"converted_by", "typenet-convert"},
        {"source", file.path.filename().string()},
        {"source_layout", file.root == "/" ? "keras weights (save_weights)" : "keras whole model (model_weights)"},
    };
    if (!file.keras_version.empty()) metadata["keras_version"] = file.keras_version;
    if (!file.backend.empty()) metadata["backend"] = file.backend;
    return metadata;
}

// Converts a Keras HDF5 weights file into typenet safetensors for model type M
// (e.g. zoo::VGG16Base<>; the input size does not change the weights). Checks
// everything first and writes atomically: on any error nothing is written and an
// existing `out` is untouched. Returns the number of tensors written.
template <class M>
std::size_t convert_keras_weights(const std::filesystem::path& h5_path, const std::filesystem::path& out_path) {
    // Names and shapes first, compared with the model before any value is read: a file
    // that claims huge datasets fails on the mismatch, never on the allocation.
    (void)detail::match_keras_tensors<M>(read_keras_weights(h5_path, /*read_values=*/false), /*need_values=*/false);
    const KerasWeightsFile file = read_keras_weights(h5_path);
    const std::vector<TensorData> tensors = keras_tensors_for<M>(file);
    write_safetensors(out_path, tensors, keras_conversion_metadata<M>(file));
    return tensors.size();
}

}  // namespace typenet::io
