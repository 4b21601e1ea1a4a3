// typenet/train/callbacks.hpp
// Keras 2's training callbacks (keras/callbacks.py, Keras 2.2), given to fit() in
// FitOptions::callbacks:
//
//   tn::ModelCheckpoint checkpoint{"best.safetensors", {.monitor = "val_accuracy", .save_best_only = true}};
//   tn::EarlyStopping stop{{.monitor = "val_loss", .patience = 5, .restore_best_weights = true}};
//   tn::CSVLogger csv{"history.csv"};
//   trainer.fit(train, {.epochs = 30, .validation = &val, .callbacks = {&checkpoint, &stop, &csv}});
//
// A callback sees the model through TrainingContext (weights to disk and back, a host
// copy of the weights, a request to stop), so callbacks are plain classes, not templates.
// Callbacks run after an epoch ends; an epoch cut short by a non-finite loss never
// reaches them, so a checkpoint on disk is always one of a finished, finite epoch.
#pragma once

#include <cmath>
#include <cstddef>
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
#include <utility>
#include <vector>

#include "typenet/io/csv.hpp"
#include "typenet/train/history.hpp"

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
        std::vector<std::string> columns{"epoch", "accuracy", "loss"};
        if (context.has_validation()) {
            columns.push_back("val_accuracy");
            columns.push_back("val_loss");
        }
        writer_ = std::make_unique<io::CsvAppender>(path_, std::move(columns), append_);
    }

    void on_epoch_end(TrainingContext&, const EpochLogs& logs) override {
        std::vector<double> row{static_cast<double>(logs.epoch), logs.accuracy, logs.loss};
        if (logs.has_validation) {
            row.push_back(logs.val_accuracy);
            row.push_back(logs.val_loss);
        }
        writer_->append_row(row);
    }

    void on_train_end(TrainingContext&, const History&) override { writer_.reset(); }

    [[nodiscard]] const std::filesystem::path& filename() const { return path_; }

private:
    std::filesystem::path path_;
    bool append_;
    std::unique_ptr<io::CsvAppender> writer_;
};

}  // namespace typenet
