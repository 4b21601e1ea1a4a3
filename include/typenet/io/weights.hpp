// typenet/io/weights.hpp
// A model's weights on disk, as safetensors (io/safetensors.hpp): Keras's
// model.save_weights / model.load_weights for any typenet model on any device.
//
// Contract:
//   save_weights(model, path[, extra metadata])
//       Every parameter and every state tensor (BatchNormalization's moving_mean and
//       moving_variance), named "<layer path>/<weight name>" as for_each_weight gives
//       the path ("block1_conv1/kernel"; "vgg16/block1_conv1/kernel" inside a nested
//       model), float32 in Keras layouts, in the model's order. Metadata: format
//       "typenet", model (its name), layers (its layer names, comma-separated),
//       param_count. Written atomically: an existing file is replaced whole or not at all.
//   load_weights(model, path)
//       Strict: the file must hold exactly the model's tensors (state included), with the
//       model's shapes.
//       Everything is checked before anything is written, so on any error the model is
//       unchanged. Throws FormatError for a damaged file, WeightsMismatch (listing every
//       problem) for a file of another model: missing tensors (by layer and weight, and
//       what the file holds), unexpected tensors, shape differences
//       ("block1_conv1/kernel: file has (3, 3, 3, 32), model expects (3, 3, 3, 64)").
//       Metadata is not checked: converted Keras files load as well as saved ones.
//       A nested model is a model: load_weights(model.get<"vgg16">(), "vgg16.safetensors").
//   Trainable flags are not saved (as in Keras); set them after loading.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "typenet/io/format_error.hpp"
#include "typenet/io/safetensors.hpp"

namespace typenet::io {

// A weights file that is well formed but belongs to another model.
class WeightsMismatch : public std::runtime_error {
public:
    WeightsMismatch(const std::string& message, std::vector<std::string> problems)
        : std::runtime_error(message), problems_(std::move(problems)) {}
    // One line per problem, as in the message.
    [[nodiscard]] const std::vector<std::string>& problems() const noexcept { return problems_; }

private:
    std::vector<std::string> problems_;
};

namespace detail {

inline std::string weight_name(std::string_view layer_path, std::string_view weight) {
    return std::string(layer_path) + "/" + std::string(weight);
}

// Shows a few names, then how many more there are: messages stay readable for VGG.
// The head of a WeightsMismatch message, "<file>: the <what> do not fit model '<model>'
// (n problems):", then each problem on its own line.
inline std::string mismatch_message(const std::string& file, std::string_view what, std::string_view model,
                                    const std::vector<std::string>& problems) {
    std::string message = file + ": the " + std::string(what) + " do not fit model '" + std::string(model) + "' (" +
                          std::to_string(problems.size()) + (problems.size() == 1 ? " problem" : " problems") + "):";
    for (const auto& problem : problems) message += "\n  " + problem;
    return message;
}

inline std::string name_list(const std::vector<std::string>& names, std::size_t shown = 12) {
    std::string text;
    for (std::size_t i = 0; i < names.size() && i < shown; ++i) text += (i ? ", " : "") + names[i];
    if (names.size() > shown) text += ", ... (" + std::to_string(names.size() - shown) + " more)";
    return text.empty() ? "(none)" : text;
}

// "vgg16/block1_conv1/kernel" -> "vgg16"; "" when the name has one level below a layer.
inline std::string_view outer_model(std::string_view name) {
    const std::size_t first = name.find('/');
    if (first == std::string_view::npos || name.find('/', first + 1) == std::string_view::npos) return {};
    return name.substr(0, first);
}

// The usual cause of a mismatch between a whole model and its backbone, said plainly:
// the names differ only by the nested model's name in front.
inline std::string nesting_hint(const std::vector<std::string>& missing, const std::vector<std::string>& unexpected,
                                const std::set<std::string>& in_file, const std::set<std::string>& in_model) {
    auto nested_prefix = [](const std::vector<std::string>& names, const std::set<std::string>& other_side) {
        for (const auto& name : names) {
            const std::string_view prefix = outer_model(name);
            if (!prefix.empty() && other_side.contains(name.substr(prefix.size() + 1))) return std::string(prefix);
        }
        return std::string();
    };
    if (const auto prefix = nested_prefix(missing, in_file); !prefix.empty())
        return "the file holds the weights of '" + prefix + "' on their own: load them with load_weights(model.get<\"" +
               prefix + "\">(), path)";
    if (const auto prefix = nested_prefix(unexpected, in_model); !prefix.empty())
        return "the file holds a bigger model in which these weights sit under '" + prefix +
               "/': load it into that model, or save this part on its own";
    return {};
}

template <class M>
std::string layer_names_text() {
    std::string text;
    for (const auto& name : M::layer_names) text += (text.empty() ? "" : ",") + std::string(name.view());
    return text;
}

}  // namespace detail

// `extra` adds metadata entries of the caller's (say, the preprocessing the model was
// trained with); typenet's own entries (format, model, layers, param_count) win.
template <class M>
void save_weights(const M& model, const std::filesystem::path& path,
                  const std::map<std::string, std::string>& extra = {}) {
    std::vector<TensorData> tensors;
    model.for_each_weight([&](std::string_view layer_path, const auto& parameter, bool) {
        tensors.push_back({detail::weight_name(layer_path, parameter.name), parameter.shape, parameter.values()});
    });
    std::map<std::string, std::string> metadata{
        {"format", "typenet"},
        {"model", std::string(M::name.view())},
        {"layers", detail::layer_names_text<M>()},
        {"param_count", std::to_string(M::param_count)},
    };
    metadata.insert(extra.begin(), extra.end());  // insert keeps existing keys
    write_safetensors(path, tensors, metadata);
}

template <class M>
void load_weights(M& model, const std::filesystem::path& path) {
    const std::vector<TensorData> tensors = read_safetensors(path);
    std::map<std::string, const TensorData*> by_name;
    for (const auto& tensor : tensors) by_name.emplace(tensor.name, &tensor);

    // Check every parameter against the file before writing any.
    std::vector<std::string> missing, mismatched, problems;
    std::set<std::string> in_model;
    model.for_each_weight([&](std::string_view layer_path, const auto& parameter, bool) {
        const std::string name = detail::weight_name(layer_path, parameter.name);
        in_model.insert(name);
        const auto found = by_name.find(name);
        if (found == by_name.end()) {
            missing.push_back(name);
            problems.push_back("missing tensor " + name + " (layer " + std::string(layer_path) + ", weight " +
                               std::string(parameter.name) + ")");
        } else if (found->second->shape != parameter.shape) {
            problems.push_back(name + ": file has " + detail::shape_string(found->second->shape) +
                               ", model expects " + parameter.shape_string());
        }
    });
    std::vector<std::string> unexpected;
    std::set<std::string> in_file;
    for (const auto& tensor : tensors) {
        in_file.insert(tensor.name);
        if (!in_model.contains(tensor.name)) unexpected.push_back(tensor.name);
    }
    if (!unexpected.empty())
        problems.push_back("unexpected tensors (not in this model): " + detail::name_list(unexpected));

    if (!problems.empty()) {
        std::string message = detail::mismatch_message(path.string(), "weights", M::name.view(), problems);
        if (!missing.empty()) {
            std::vector<std::string> file_names;
            for (const auto& tensor : tensors) file_names.push_back(tensor.name);
            message += "\n  the file holds: " + detail::name_list(file_names);
        }
        if (const auto hint = detail::nesting_hint(missing, unexpected, in_file, in_model); !hint.empty())
            message += "\n  hint: " + hint;
        throw WeightsMismatch(message, std::move(problems));
    }

    model.for_each_weight([&](std::string_view layer_path, auto& parameter, bool) {
        parameter.set_values(by_name.at(detail::weight_name(layer_path, parameter.name))->values);
    });
}

}  // namespace typenet::io
