// typenet/train/callbacks.hpp
// Keras 2's training callbacks (keras/callbacks.py, Keras 2.2), given to fit() in
// FitOptions::callbacks:
//
//   tn::ModelCheckpoint checkpoint{"best.safetensors", {.monitor = "val_accuracy", .save_best_only = true}};
//   tn::EarlyStopping stop{{.monitor = "val_loss", .patience = 5, .restore_best_weights = true}};
//   tn::CSVLogger csv{"history.csv"};
//   trainer.fit(train, {.epochs = 30, .validation = &val, .callbacks = {&checkpoint, &stop, &csv}});
//   tn::BackupAndRestore backup{"run.training_state"};   // a killed run goes on where it was
//
// A callback sees the model through TrainingContext (weights to disk and back, a host
// copy of the weights, a request to stop), so callbacks are plain classes, not templates.
// Callbacks run after an epoch ends; an epoch cut short by a non-finite loss never
// reaches them, so a checkpoint on disk is always one of a finished, finite epoch.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "typenet/io/csv.hpp"
#include "typenet/train/history.hpp"
#include "typenet/train/training_state.hpp"

namespace typenet {

// Every parameter's values, on the host, in the model's parameter order (Keras's get_weights()).
using WeightValues = std::vector<std::vector<float>>;

// The model under training, as a callback may touch it.
class TrainingContext {
public:
    virtual ~TrainingContext() = default;
    // Keras's model.save_weights(path) / load_weights(path): safetensors, written atomically.
    virtual void save_weights(const std::filesystem::path& path) = 0;
    virtual void load_weights(const std::filesystem::path& path) = 0;
    // Keras's model.get_weights() / set_weights().
    [[nodiscard]] virtual WeightValues get_weights() const = 0;
    virtual void set_weights(const WeightValues& values) = 0;
    // Keras's model.stop_training = True: fit ends after this epoch's callbacks.
    virtual void stop_training() = 0;
    [[nodiscard]] virtual bool has_validation() const = 0;
    // Where callbacks with verbose > 0 report.
    [[nodiscard]] virtual std::ostream& log() = 0;
};

class Callback {
public:
    virtual ~Callback() = default;
    virtual void on_train_begin(TrainingContext&) {}
    virtual void on_epoch_end(TrainingContext&, const EpochLogs&) {}
    virtual void on_train_end(TrainingContext&, const History&) {}
    // Resuming (train/training_state.hpp): what the callback keeps across a kill, written
    // after every epoch; and putting it back, after on_train_begin, when fit resumes.
    // `so_far` holds the epochs done. A missing or damaged value throws.
    virtual void save_state(CallbackState&) const {}
    virtual void restore_state(TrainingContext&, const CallbackState&, const History& /*so_far*/) {}
};

// Keras's mode: 'auto' maximises a quantity whose name has "acc" in it, minimises others.
enum class MonitorMode { automatic, min, max };

namespace detail {

// The best-so-far bookkeeping shared by ModelCheckpoint and EarlyStopping.
class Monitor {
public:
    Monitor(std::string quantity, MonitorMode mode) : quantity_(std::move(quantity)) {
        if (!EpochLogs::is_quantity(quantity_))
            throw std::invalid_argument("callback: cannot monitor '" + quantity_ +
                                        "': use loss, accuracy, val_loss or val_accuracy");
        maximize_ = mode == MonitorMode::max ||
                    (mode == MonitorMode::automatic && quantity_.find("acc") != std::string::npos);
        reset();
    }
    void reset(std::optional<double> baseline = std::nullopt) {
        best_ = baseline ? *baseline
                         : (maximize_ ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity());
    }
    // Keras's check at on_train_begin time: a validation quantity needs validation data.
    void check(const TrainingContext& context, std::string_view callback) const {
        if (EpochLogs::needs_validation(quantity_) && !context.has_validation())
            throw std::invalid_argument(std::string(callback) + " monitors '" + quantity_ +
                                        "', but fit has no validation data: pass FitOptions::validation, "
                                        "or monitor loss/accuracy");
    }
    // Whether `current` beats the best by more than min_delta (NaN never does).
    [[nodiscard]] bool improves(double current, double min_delta = 0.0) const {
        return maximize_ ? current - min_delta > best_ : current + min_delta < best_;
    }
    [[nodiscard]] double current(const EpochLogs& logs) const { return logs.value(quantity_); }
    void set_best(double value) { best_ = value; }
    [[nodiscard]] double best() const { return best_; }
    [[nodiscard]] const std::string& quantity() const { return quantity_; }
    [[nodiscard]] bool maximizes() const { return maximize_; }

private:
    std::string quantity_;
    bool maximize_ = false;
    double best_ = 0.0;
};

// "%.5f" as Keras prints monitored values.
inline std::string fixed5(double v) {
    char text[64];
    std::snprintf(text, sizeof text, "%.5f", v);
    return text;
}
// A callback's saved value (CallbackState), read back exactly.
inline double saved_number(const CallbackState& state, const std::string& key) {
    const auto found = state.values.find(key);
    double value = 0.0;
    if (found == state.values.end() || !parse_exact(found->second, value))
        throw std::invalid_argument("saved callback state without a number '" + key + "'");
    return value;
}
inline std::optional<std::size_t> saved_epoch(const CallbackState& state, const std::string& key) {
    const auto found = state.values.find(key);
    if (found == state.values.end()) throw std::invalid_argument("saved callback state without '" + key + "'");
    if (found->second == "none") return std::nullopt;
    std::uint64_t value = 0;
    if (!parse_unsigned(found->second, value)) throw std::invalid_argument("saved callback state: '" + key + "' is not a count");
    return static_cast<std::size_t>(value);
}
inline std::string epoch_text(const std::optional<std::size_t>& epoch) {
    return epoch ? std::to_string(*epoch) : std::string("none");
}

inline std::string epoch5(std::size_t epoch) {  // "00003", Keras's 'Epoch %05d'
    char text[32];
    std::snprintf(text, sizeof text, "%05zu", epoch);
    return text;
}

}  // namespace detail

// Saves the weights after every `period` epochs, or with save_best_only only when the
// monitored quantity improved (Keras's ModelCheckpoint with save_weights_only=True).
struct ModelCheckpointOptions {
    std::string monitor = "val_loss";
    bool save_best_only = false;
    MonitorMode mode = MonitorMode::automatic;
    std::size_t period = 1;
    int verbose = 0;
};

class ModelCheckpoint : public Callback {
public:
    using Options = ModelCheckpointOptions;

    explicit ModelCheckpoint(std::filesystem::path filepath, Options options = {})
        : path_(std::move(filepath)), options_(std::move(options)), monitor_(options_.monitor, options_.mode) {
        if (options_.period == 0) throw std::invalid_argument("ModelCheckpoint: period must be at least 1");
    }

    void on_train_begin(TrainingContext& context) override {
        if (options_.save_best_only) monitor_.check(context, "ModelCheckpoint");
        since_last_save_ = 0;
    }

    void on_epoch_end(TrainingContext& context, const EpochLogs& logs) override {
        if (++since_last_save_ < options_.period) return;
        since_last_save_ = 0;
        if (!options_.save_best_only) {
            if (options_.verbose > 0)
                context.log() << "\nEpoch " << detail::epoch5(logs.epoch + 1) << ": saving model to " << path_.string()
                              << '\n';
            save(context, logs.epoch);
            return;
        }
        const double current = monitor_.current(logs);
        if (monitor_.improves(current)) {
            if (options_.verbose > 0)
                context.log() << "\nEpoch " << detail::epoch5(logs.epoch + 1) << ": " << monitor_.quantity()
                              << " improved from " << detail::fixed5(monitor_.best()) << " to "
                              << detail::fixed5(current) << ", saving model to " << path_.string() << '\n';
            monitor_.set_best(current);
            save(context, logs.epoch);
        } else if (options_.verbose > 0) {
            context.log() << "\nEpoch " << detail::epoch5(logs.epoch + 1) << ": " << monitor_.quantity()
                          << " did not improve from " << detail::fixed5(monitor_.best()) << '\n';
        }
    }

    [[nodiscard]] const std::filesystem::path& filepath() const { return path_; }
    // The best monitored value saved so far (±inf before the first save).
    [[nodiscard]] double best() const { return monitor_.best(); }
    // The 0-based epoch of the last save, if any.
    [[nodiscard]] std::optional<std::size_t> last_saved_epoch() const { return last_saved_; }

    void save_state(CallbackState& state) const override {
        state.values = {{"best", detail::exact_text(monitor_.best())},
                        {"since_last_save", std::to_string(since_last_save_)},
                        {"last_saved", detail::epoch_text(last_saved_)}};
    }
    void restore_state(TrainingContext&, const CallbackState& state, const History&) override {
        monitor_.set_best(detail::saved_number(state, "best"));
        since_last_save_ = detail::saved_epoch(state, "since_last_save").value_or(0);
        last_saved_ = detail::saved_epoch(state, "last_saved");
    }

private:
    void save(TrainingContext& context, std::size_t epoch) {
        context.save_weights(path_);
        last_saved_ = epoch;
    }

    std::filesystem::path path_;
    Options options_;
    detail::Monitor monitor_;
    std::size_t since_last_save_ = 0;
    std::optional<std::size_t> last_saved_;
};

// Stops training when the monitored quantity has not improved for `patience` epochs
// (Keras's EarlyStopping). With restore_best_weights, the weights of the best epoch are
// put back when it stops, as Keras 2.2.4 does (a run that is never stopped keeps its
// last weights).
struct EarlyStoppingOptions {
    std::string monitor = "val_loss";
    double min_delta = 0.0;
    std::size_t patience = 0;
    MonitorMode mode = MonitorMode::automatic;
    std::optional<double> baseline{};
    bool restore_best_weights = false;
    int verbose = 0;
};

class EarlyStopping : public Callback {
public:
    using Options = EarlyStoppingOptions;

    explicit EarlyStopping(Options options = {}) : options_(std::move(options)), monitor_(options_.monitor, options_.mode) {
        if (options_.min_delta < 0.0) throw std::invalid_argument("EarlyStopping: min_delta must be >= 0");
    }

    void on_train_begin(TrainingContext& context) override {
        monitor_.check(context, "EarlyStopping");
        monitor_.reset(options_.baseline);
        wait_ = 0;
        stopped_epoch_.reset();
        best_epoch_.reset();
        best_weights_.clear();
    }

    void on_epoch_end(TrainingContext& context, const EpochLogs& logs) override {
        const double current = monitor_.current(logs);
        if (monitor_.improves(current, options_.min_delta)) {
            monitor_.set_best(current);
            wait_ = 0;
            best_epoch_ = logs.epoch;
            if (options_.restore_best_weights) best_weights_ = context.get_weights();
            return;
        }
        if (++wait_ < options_.patience) return;
        stopped_epoch_ = logs.epoch;
        context.stop_training();
        if (options_.restore_best_weights && !best_weights_.empty()) {
            if (options_.verbose > 0) context.log() << "Restoring model weights from the end of the best epoch\n";
            context.set_weights(best_weights_);
        }
    }

    void on_train_end(TrainingContext& context, const History&) override {
        if (stopped_epoch_ && options_.verbose > 0)
            context.log() << "Epoch " << detail::epoch5(*stopped_epoch_ + 1) << ": early stopping\n";
    }

    // The 0-based epoch at which training was stopped, if it was.
    [[nodiscard]] std::optional<std::size_t> stopped_epoch() const { return stopped_epoch_; }
    // The 0-based epoch with the best monitored value, if any improved on the start.
    [[nodiscard]] std::optional<std::size_t> best_epoch() const { return best_epoch_; }
    [[nodiscard]] double best() const { return monitor_.best(); }

    void save_state(CallbackState& state) const override {
        state.values = {{"best", detail::exact_text(monitor_.best())},
                        {"wait", std::to_string(wait_)},
                        {"stopped_epoch", detail::epoch_text(stopped_epoch_)},
                        {"best_epoch", detail::epoch_text(best_epoch_)}};
        state.arrays = best_weights_;
    }
    void restore_state(TrainingContext&, const CallbackState& state, const History&) override {
        monitor_.set_best(detail::saved_number(state, "best"));
        wait_ = detail::saved_epoch(state, "wait").value_or(0);
        stopped_epoch_ = detail::saved_epoch(state, "stopped_epoch");
        best_epoch_ = detail::saved_epoch(state, "best_epoch");
        best_weights_ = state.arrays;
    }

private:
    Options options_;
    detail::Monitor monitor_;
    std::size_t wait_ = 0;
    std::optional<std::size_t> stopped_epoch_, best_epoch_;
    WeightValues best_weights_;
};

// Streams each epoch's numbers to a CSV file as Keras's CSVLogger: columns epoch
// (0-based), then the quantities sorted by name (accuracy, loss, val_accuracy,
// val_loss). Every finished epoch is on disk before the next one starts.
class CSVLogger : public Callback {
public:
    explicit CSVLogger(std::filesystem::path filename, bool append = false)
        : path_(std::move(filename)), append_(append) {}

    void on_train_begin(TrainingContext& context) override {
        writer_ = std::make_unique<io::CsvAppender>(path_, columns(context), append_);
    }

    void on_epoch_end(TrainingContext&, const EpochLogs& logs) override {
        std::vector<double> row{static_cast<double>(logs.epoch), logs.accuracy, logs.loss};
        if (logs.has_validation) {
            row.push_back(logs.val_accuracy);
            row.push_back(logs.val_loss);
        }
        writer_->append_row(row);
    }

    // A resumed fit: the file is written afresh with the epochs done, so an epoch logged
    // by the killed run after its last training state is not there twice.
    void restore_state(TrainingContext& context, const CallbackState&, const History& so_far) override {
        writer_ = std::make_unique<io::CsvAppender>(path_, columns(context), false);
        for (std::size_t i = 0; i < so_far.epochs(); ++i) {
            std::vector<double> row{static_cast<double>(so_far.epoch[i]), so_far.accuracy[i], so_far.loss[i]};
            if (so_far.has_validation()) {
                row.push_back(so_far.val_accuracy[i]);
                row.push_back(so_far.val_loss[i]);
            }
            writer_->append_row(row);
        }
    }

    void on_train_end(TrainingContext&, const History&) override { writer_.reset(); }

    [[nodiscard]] const std::filesystem::path& filename() const { return path_; }

private:
    static std::vector<std::string> columns(const TrainingContext& context) {
        std::vector<std::string> names{"epoch", "accuracy", "loss"};
        if (context.has_validation()) {
            names.push_back("val_accuracy");
            names.push_back("val_loss");
        }
        return names;
    }

    std::filesystem::path path_;
    bool append_;
    std::unique_ptr<io::CsvAppender> writer_;
};

// Keras's BackupAndRestore: after every epoch the whole training state (weights,
// optimizer slots, counters, random state, history, the other callbacks' state; see
// train/training_state.hpp) goes to `file`, atomically, once every other callback has
// seen the epoch. A fit started with this callback and the file present continues from
// it, so a run killed at any point and started again with the same arguments ends with
// the same weights, bit for bit, as a run never killed (same seed, data, thread count).
// Keras takes a folder; this takes the file. The trainer does the work; the callback
// names the file and the policy.
struct BackupAndRestoreOptions {
    bool restore = true;        // continue from the file when it exists; false: only write it
    bool delete_at_end = true;  // remove it when fit ends normally (Keras's delete_checkpoint)
};

class BackupAndRestore : public Callback {
public:
    using Options = BackupAndRestoreOptions;

    explicit BackupAndRestore(std::filesystem::path file, Options options = {})
        : file_(std::move(file)), options_(options) {
        if (file_.filename().empty()) throw std::invalid_argument("BackupAndRestore: the path names a folder, not a file");
    }

    [[nodiscard]] const std::filesystem::path& file() const { return file_; }
    [[nodiscard]] bool restores() const { return options_.restore; }

    void on_train_end(TrainingContext&, const History&) override {
        if (!options_.delete_at_end) return;
        std::error_code ignored;
        std::filesystem::remove(file_, ignored);
    }

private:
    std::filesystem::path file_;
    Options options_;
};

}  // namespace typenet
