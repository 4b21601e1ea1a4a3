// typenet/train/history.hpp
// What fit() returns, as Keras's History: per epoch the training loss and accuracy
// (sample-weighted means over the epoch's batches) and, with validation data, the
// validation loss and accuracy measured after the epoch. Keras 2.2 called the metric
// "acc"; its later releases and typenet call it "accuracy" (both names are accepted
// where a quantity is named, as in a callback's monitor).
#pragma once

#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace typenet {

// One epoch's numbers, as Keras's `logs` dict at on_epoch_end.
struct EpochLogs {
    std::size_t epoch = 0;  // 0-based, as Keras passes it to callbacks
    double loss = 0.0;
    double accuracy = 0.0;
    bool has_validation = false;
    double val_loss = std::numeric_limits<double>::quiet_NaN();
    double val_accuracy = std::numeric_limits<double>::quiet_NaN();
    double seconds = 0.0;        // wall time of the epoch, validation included
    std::size_t samples = 0;     // training samples seen
    double train_seconds = 0.0;  // time of the training steps alone (batches, forward, backward, update)

    [[nodiscard]] double images_per_second() const { return train_seconds > 0.0 ? samples / train_seconds : 0.0; }

    // "loss", "accuracy" ("acc"), "val_loss", "val_accuracy" ("val_acc").
    [[nodiscard]] static bool is_quantity(std::string_view name) {
        return name == "loss" || name == "accuracy" || name == "acc" || name == "val_loss" ||
               name == "val_accuracy" || name == "val_acc";
    }
    [[nodiscard]] static bool needs_validation(std::string_view name) { return name.starts_with("val_"); }

    // The value of a named quantity; throws std::invalid_argument for an unknown name or a
    // validation quantity when there was no validation data.
    [[nodiscard]] double value(std::string_view name) const {
        if (!is_quantity(name))
            throw std::invalid_argument("unknown quantity '" + std::string(name) +
                                        "': use loss, accuracy, val_loss or val_accuracy");
        if (needs_validation(name) && !has_validation)
            throw std::invalid_argument("'" + std::string(name) + "' is measured on validation data, and fit has none");
        if (name == "loss") return loss;
        if (name == "accuracy" || name == "acc") return accuracy;
        if (name == "val_loss") return val_loss;
        return val_accuracy;
    }
};

struct History {
    std::vector<std::size_t> epoch;  // 0-based epoch indices, as Keras's history.epoch
    std::vector<double> loss, accuracy, val_loss, val_accuracy;
    std::vector<double> seconds, train_seconds;
    std::vector<std::size_t> samples;
    bool stopped_early = false;  // a callback (EarlyStopping) ended training

    [[nodiscard]] std::size_t epochs() const { return epoch.size(); }
    [[nodiscard]] bool has_validation() const { return !val_loss.empty(); }

    void append(const EpochLogs& logs) {
        epoch.push_back(logs.epoch);
        loss.push_back(logs.loss);
        accuracy.push_back(logs.accuracy);
        if (logs.has_validation) {
            val_loss.push_back(logs.val_loss);
            val_accuracy.push_back(logs.val_accuracy);
        }
        seconds.push_back(logs.seconds);
        samples.push_back(logs.samples);
        train_seconds.push_back(logs.train_seconds);
    }

    // Training throughput over all epochs: images / seconds of training steps.
    [[nodiscard]] double images_per_second() const {
        double images = 0.0, time = 0.0;
        for (std::size_t i = 0; i < epoch.size(); ++i) {
            images += static_cast<double>(samples[i]);
            time += train_seconds[i];
        }
        return time > 0.0 ? images / time : 0.0;
    }
};

}  // namespace typenet
