// typenet/train/training_state.hpp
// Everything a killed fit() needs to go on exactly where it was, in one file written
// atomically after an epoch (tn::BackupAndRestore, train/callbacks.hpp):
//
//   weights          every parameter, "weights/<layer path>/<weight>"
//   optimizer slots  "optimizer/<layer path>/<weight>/<k>" (RMSprop's average, Adam's two
//                    moments, SGD's velocity), for the parameters trained so far
//   counters         optimizer iterations, epochs done, whether a callback stopped training
//   random state     each dropout layer's seed and mask counter; shuffling and augmentation
//                    are pure functions of (seed, epoch, index) and need nothing
//   history          the epochs so far, exactly (doubles as hexadecimal text)
//   callbacks        what each callback keeps (EarlyStopping's wait and best weights, ...)
//   the run          model, loss, optimizer with its hyperparameters, batch size, seed,
//                    samples per epoch, CPU threads: a resume checks them against the run
//
// The file is safetensors (io/safetensors.hpp): float32 tensors, and the rest as text in
// its "__metadata__" (format "typenet-training-state", version 1). read_training_state
// throws io::FormatError naming the file for a damaged or foreign file; the trainer
// throws TrainingStateMismatch, naming the file and each difference, for a state of
// another model or run.
#pragma once

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "typenet/io/format_error.hpp"
#include "typenet/io/safetensors.hpp"
#include "typenet/train/history.hpp"
#include "typenet/train/optimizers.hpp"

namespace typenet {

// What one callback keeps across a resume: named values as text (exact), and arrays.
struct CallbackState {
    std::map<std::string, std::string> values;
    std::vector<std::vector<float>> arrays;
};

struct TrainingState {
    // The run that wrote it (checked on resume).
    std::string model;
    std::size_t param_count = 0;
    std::string loss;
    std::string optimizer;  // name and hyperparameters, "RMSprop(learning_rate=..., ...)"
    std::size_t batch_size = 0;
    std::uint64_t seed = 0;        // FitOptions::seed
    std::size_t train_size = 0;    // samples per epoch
    int cpu_threads = 0;           // 0: not a CPU run
    // Where it was.
    std::size_t epochs_done = 0;   // the next epoch's 0-based index
    std::size_t epochs = 0;        // the fit's FitOptions::epochs (informative)
    bool stopped = false;          // a callback ended training (EarlyStopping)
    std::uint64_t iterations = 0;  // optimizer steps
    std::vector<io::TensorData> weights;          // names without the "weights/" prefix
    std::vector<io::TensorData> optimizer_slots;  // "<layer path>/<weight>/<k>"
    std::map<std::string, std::array<std::uint64_t, 2>> layer_random;  // "<index>:<layer>" -> seed, counter
    History history;
    std::vector<CallbackState> callbacks;  // in FitOptions::callbacks order
};

// A training state that is well formed but was written by another model or run.
class TrainingStateMismatch : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

namespace detail {

inline constexpr std::string_view training_state_format = "typenet-training-state";
inline constexpr std::string_view training_state_version = "1";

// Doubles as C99 hexadecimal floating point: exact, and NaN/inf survive.
inline std::string exact_text(double value) {
    char text[64];
    std::snprintf(text, sizeof text, "%a", value);
    return text;
}
inline bool parse_exact(const std::string& text, double& value) {
    if (text.empty()) return false;
    char* end = nullptr;
    value = std::strtod(text.c_str(), &end);
    return end == text.c_str() + text.size();
}
inline bool parse_unsigned(const std::string& text, std::uint64_t& value) {
    if (text.empty() || text.size() > 20 || text.find_first_not_of("0123456789") != std::string::npos) return false;
    char* end = nullptr;
    errno = 0;
    value = std::strtoull(text.c_str(), &end, 10);
    return errno == 0 && end == text.c_str() + text.size();
}

// Reads one training-state file's parts, each error naming the file and the entry.
class TrainingStateReader {
public:
    TrainingStateReader(std::filesystem::path path, std::map<std::string, std::string> metadata)
        : path_(std::move(path)), metadata_(std::move(metadata)) {}

    [[noreturn]] void fail(const std::string& problem) const { throw io::FormatError(path_, problem); }

    const std::string& text(const std::string& key) const {
        const auto found = metadata_.find(key);
        if (found == metadata_.end()) fail("training state without its '" + key + "' entry (truncated or not written by typenet)");
        return found->second;
    }
    std::uint64_t unsigned_value(const std::string& key) const {
        std::uint64_t value = 0;
        if (!parse_unsigned(text(key), value)) fail("'" + key + "' is not a count: '" + quoted_prefix(text(key)) + "'");
        return value;
    }
    nlohmann::json json(const std::string& key) const {
        // A state nests three deep at most; a deeper entry is damage, refused before parsing
        // (so nothing downstream recurses on input-driven depth).
        const std::string& source = text(key);
        if (io::detail::json_too_deep_at(source, 4))
            fail("'" + key + "' nests deeper than a training state does");
        nlohmann::json value = nlohmann::json::parse(source, nullptr, false);
        if (value.is_discarded()) fail("'" + key + "' is not valid JSON");
        return value;
    }
    static std::string quoted_prefix(const std::string& text) { return text.size() > 40 ? text.substr(0, 40) + "..." : text; }

private:
    std::filesystem::path path_;
    std::map<std::string, std::string> metadata_;
};

inline std::vector<double> exact_list(const TrainingStateReader& in, const nlohmann::json& list, const std::string& what) {
    if (!list.is_array()) in.fail("history '" + what + "' is not a list");
    std::vector<double> values;
    values.reserve(list.size());
    for (const auto& item : list) {
        double value = 0.0;
        if (!item.is_string() || !parse_exact(item.get<std::string>(), value))
            in.fail("history '" + what + "' holds a value that is not a number");
        values.push_back(value);
    }
    return values;
}
inline std::vector<std::size_t> count_list(const TrainingStateReader& in, const nlohmann::json& list,
                                           const std::string& what) {
    if (!list.is_array()) in.fail("history '" + what + "' is not a list");
    std::vector<std::size_t> values;
    values.reserve(list.size());
    for (const auto& item : list) {
        if (!item.is_number_unsigned()) in.fail("history '" + what + "' holds a value that is not a count");
        values.push_back(item.get<std::size_t>());
    }
    return values;
}

}  // namespace detail

// An optimizer and its hyperparameters, exactly: a resume with another learning rate is
// another run. An optimizer of the user's own is known by its name.
inline std::string optimizer_text(const SGD& o) {
    return "SGD(learning_rate=" + detail::exact_text(o.learning_rate) + ", momentum=" + detail::exact_text(o.momentum) +
           ", nesterov=" + (o.nesterov ? "true" : "false") + ", decay=" + detail::exact_text(o.decay) + ")";
}
inline std::string optimizer_text(const RMSprop& o) {
    return "RMSprop(learning_rate=" + detail::exact_text(o.learning_rate) + ", rho=" + detail::exact_text(o.rho) +
           ", epsilon=" + detail::exact_text(o.epsilon) + ", decay=" + detail::exact_text(o.decay) + ")";
}
inline std::string optimizer_text(const Adam& o) {
    return "Adam(learning_rate=" + detail::exact_text(o.learning_rate) + ", beta_1=" + detail::exact_text(o.beta_1) +
           ", beta_2=" + detail::exact_text(o.beta_2) + ", epsilon=" + detail::exact_text(o.epsilon) +
           ", decay=" + detail::exact_text(o.decay) + ")";
}
template <class O>
std::string optimizer_text(const O&) {
    return std::string(O::name);
}

inline void write_training_state(const std::filesystem::path& path, const TrainingState& state) {
    std::vector<io::TensorData> tensors;
    tensors.reserve(state.weights.size() + state.optimizer_slots.size());
    for (const auto& w : state.weights) tensors.push_back({"weights/" + w.name, w.shape, w.values});
    for (const auto& s : state.optimizer_slots) tensors.push_back({"optimizer/" + s.name, s.shape, s.values});

    nlohmann::json callbacks = nlohmann::json::array();
    for (std::size_t i = 0; i < state.callbacks.size(); ++i) {
        const CallbackState& c = state.callbacks[i];
        callbacks.push_back({{"values", c.values}, {"arrays", c.arrays.size()}});
        for (std::size_t j = 0; j < c.arrays.size(); ++j)
            tensors.push_back({"callbacks/" + std::to_string(i) + "/" + std::to_string(j), {c.arrays[j].size()},
                               c.arrays[j]});
    }
    const History& h = state.history;
    auto exact = [](const std::vector<double>& values) {
        nlohmann::json list = nlohmann::json::array();
        for (double v : values) list.push_back(detail::exact_text(v));
        return list;
    };
    const nlohmann::json history{{"epoch", h.epoch},        {"loss", exact(h.loss)},
                                 {"accuracy", exact(h.accuracy)}, {"val_loss", exact(h.val_loss)},
                                 {"val_accuracy", exact(h.val_accuracy)}, {"seconds", exact(h.seconds)},
                                 {"train_seconds", exact(h.train_seconds)}, {"samples", h.samples},
                                 {"stopped_early", h.stopped_early}};
    nlohmann::json random = nlohmann::json::object();
    for (const auto& [layer, values] : state.layer_random)
        random[layer] = {std::to_string(values[0]), std::to_string(values[1])};

    const std::map<std::string, std::string> metadata{
        {"format", std::string(detail::training_state_format)},
        {"version", std::string(detail::training_state_version)},
        {"model", state.model},
        {"param_count", std::to_string(state.param_count)},
        {"loss", state.loss},
        {"optimizer", state.optimizer},
        {"batch_size", std::to_string(state.batch_size)},
        {"seed", std::to_string(state.seed)},
        {"train_size", std::to_string(state.train_size)},
        {"cpu_threads", std::to_string(state.cpu_threads)},
        {"epochs_done", std::to_string(state.epochs_done)},
        {"epochs", std::to_string(state.epochs)},
        {"stopped", state.stopped ? "1" : "0"},
        {"iterations", std::to_string(state.iterations)},
        {"history", history.dump()},
        {"layer_random", random.dump()},
        {"callbacks", callbacks.dump()},
    };
    io::write_safetensors(path, tensors, metadata);
}

inline TrainingState read_training_state(const std::filesystem::path& path) {
    if (!std::filesystem::exists(path)) throw io::FormatError(path, "no training state here (the file does not exist)");
    std::map<std::string, std::string> metadata = io::read_safetensors_metadata(path);
    const detail::TrainingStateReader in(path, metadata);
    const auto format = metadata.find("format");
    if (format == metadata.end() || format->second != detail::training_state_format)
        in.fail("not a typenet training state (format '" +
                (format == metadata.end() ? std::string("none") : detail::TrainingStateReader::quoted_prefix(format->second)) +
                "'; a weights file is not one: it has no optimizer state)");
    if (in.text("version") != detail::training_state_version)
        in.fail("training state version '" + detail::TrainingStateReader::quoted_prefix(in.text("version")) +
                "' (this typenet reads version " + std::string(detail::training_state_version) + ")");

    TrainingState state;
    state.model = in.text("model");
    state.param_count = in.unsigned_value("param_count");
    state.loss = in.text("loss");
    state.optimizer = in.text("optimizer");
    state.batch_size = in.unsigned_value("batch_size");
    state.seed = in.unsigned_value("seed");
    state.train_size = in.unsigned_value("train_size");
    state.cpu_threads = static_cast<int>(in.unsigned_value("cpu_threads"));
    state.epochs_done = in.unsigned_value("epochs_done");
    state.epochs = in.unsigned_value("epochs");
    state.stopped = in.unsigned_value("stopped") != 0;
    state.iterations = in.unsigned_value("iterations");

    const nlohmann::json history = in.json("history");
    if (!history.is_object()) in.fail("'history' is not an object");
    auto field = [&](const char* name) -> const nlohmann::json& {
        if (!history.contains(name)) in.fail(std::string("history without '") + name + "'");
        return history.at(name);
    };
    History& h = state.history;
    h.epoch = detail::count_list(in, field("epoch"), "epoch");
    h.loss = detail::exact_list(in, field("loss"), "loss");
    h.accuracy = detail::exact_list(in, field("accuracy"), "accuracy");
    h.val_loss = detail::exact_list(in, field("val_loss"), "val_loss");
    h.val_accuracy = detail::exact_list(in, field("val_accuracy"), "val_accuracy");
    h.seconds = detail::exact_list(in, field("seconds"), "seconds");
    h.train_seconds = detail::exact_list(in, field("train_seconds"), "train_seconds");
    h.samples = detail::count_list(in, field("samples"), "samples");
    if (!field("stopped_early").is_boolean()) in.fail("history 'stopped_early' is not true or false");
    h.stopped_early = field("stopped_early").get<bool>();
    const std::size_t n = h.epoch.size();
    if (h.loss.size() != n || h.accuracy.size() != n || h.seconds.size() != n || h.train_seconds.size() != n ||
        h.samples.size() != n || (h.val_loss.size() != 0 && h.val_loss.size() != n) ||
        h.val_accuracy.size() != h.val_loss.size())
        in.fail("history lists of different lengths");
    if (n != state.epochs_done) in.fail("history of " + std::to_string(n) + " epochs, but " +
                                        std::to_string(state.epochs_done) + " epochs done");

    const nlohmann::json random = in.json("layer_random");
    if (!random.is_object()) in.fail("'layer_random' is not an object");
    for (const auto& [layer, values] : random.items()) {
        std::array<std::uint64_t, 2> pair{};
        if (!values.is_array() || values.size() != 2 || !values[0].is_string() || !values[1].is_string() ||
            !detail::parse_unsigned(values[0].get<std::string>(), pair[0]) ||
            !detail::parse_unsigned(values[1].get<std::string>(), pair[1]))
            in.fail("'layer_random' of layer '" + layer + "' is not two counts");
        state.layer_random[layer] = pair;
    }

    const nlohmann::json callbacks = in.json("callbacks");
    if (!callbacks.is_array()) in.fail("'callbacks' is not a list");
    std::vector<std::size_t> array_counts;
    for (const auto& c : callbacks) {
        CallbackState callback;
        if (!c.is_object() || !c.contains("values") || !c["values"].is_object() || !c.contains("arrays") ||
            !c["arrays"].is_number_unsigned())
            in.fail("'callbacks' holds an entry that is not {values, arrays}");
        for (const auto& [key, value] : c["values"].items()) {
            if (!value.is_string()) in.fail("callback value '" + key + "' is not text");
            callback.values[key] = value.get<std::string>();
        }
        array_counts.push_back(c["arrays"].get<std::size_t>());
        state.callbacks.push_back(std::move(callback));
    }

    std::map<std::string, std::size_t> callback_arrays_seen;
    for (io::TensorData& tensor : io::read_safetensors(path)) {
        const std::string_view name = tensor.name;
        if (name.starts_with("weights/")) {
            tensor.name.erase(0, 8);
            state.weights.push_back(std::move(tensor));
        } else if (name.starts_with("optimizer/")) {
            tensor.name.erase(0, 10);
            state.optimizer_slots.push_back(std::move(tensor));
        } else if (name.starts_with("callbacks/")) {
            const std::string rest(name.substr(10));
            const std::size_t slash = rest.find('/');
            std::uint64_t i = 0, j = 0;
            if (slash == std::string::npos || !detail::parse_unsigned(rest.substr(0, slash), i) ||
                !detail::parse_unsigned(rest.substr(slash + 1), j) || i >= state.callbacks.size() ||
                j >= array_counts[i])
                in.fail("tensor '" + tensor.name + "' names no callback array of this state");
            auto& arrays = state.callbacks[i].arrays;
            if (arrays.size() <= j) arrays.resize(j + 1);
            arrays[j] = std::move(tensor.values);
            ++callback_arrays_seen[rest.substr(0, slash)];
        } else {
            in.fail("tensor '" + tensor.name + "' is not part of a training state");
        }
    }
    for (std::size_t i = 0; i < state.callbacks.size(); ++i)
        if (callback_arrays_seen[std::to_string(i)] != array_counts[i])
            in.fail("callback " + std::to_string(i) + " should have " + std::to_string(array_counts[i]) +
                    " arrays, the file holds " + std::to_string(callback_arrays_seen[std::to_string(i)]));
    return state;
}

}  // namespace typenet
