// examples/common/experiment.hpp
// One run of the chapter's experiment at one scale (a Setting): its options, its images
// (loaded once, raw 0..255), where every file goes, each model's training plan, and a
// record of every step (wall time, images, images/s) for the report.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/fashion_task.hpp"
#include "common/image_data.hpp"
#include "common/options.hpp"
#include "common/setting.hpp"
#include "typenet/data/image_data_generator.hpp"
#include "typenet/data/image_loading.hpp"
#include "typenet/data/preprocessing.hpp"

namespace examples {

// How one model is trained: the chapter's values unless a flag overrides them.
struct TrainingPlan {
    std::size_t epochs = 1;
    std::size_t batch_size = 30;
    std::size_t validation_batch_size = 30;
    float learning_rate = 1e-3f;
};

// One line of the report's timing table.
struct StepRecord {
    std::string step;              // "C: CNN + dropout + augmentation"
    double seconds = 0;            // wall time of the whole step (loading, training, saving)
    std::size_t images = 0;        // images the step's main work went through
    double images_per_second = 0;  // training: images / time of the training steps; otherwise images / seconds
    std::string work;              // what `images` counts, e.g. "12 epochs x 3000"
};

// Wall time of a step, from construction.
class Stopwatch {
public:
    [[nodiscard]] double seconds() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }

private:
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// "1 epoch", "3 epochs".
inline std::string count_of(std::size_t n, const std::string& thing) {
    return std::to_string(n) + " " + thing + (n == 1 ? "" : "s");
}

inline std::string format_seconds(double seconds) {
    char text[32];
    if (seconds < 60) std::snprintf(text, sizeof text, "%.1fs", seconds);
    else std::snprintf(text, sizeof text, "%dm%02ds", static_cast<int>(seconds) / 60, static_cast<int>(seconds) % 60);
    return text;
}

template <class Setting>
class Experiment {
public:
    using setting = Setting;
    static constexpr tn::ImageSize image_size{Setting::height, Setting::width, Setting::channels};

    explicit Experiment(ExperimentOptions options, std::ostream& log = std::cout)
        : options_(std::move(options)), log_(&log) {
        if (!tn::supports(options_.preprocessing, Setting::channels))
            throw std::invalid_argument("--preprocessing " + std::string(tn::to_string(options_.preprocessing)) +
                                        " is for VGG-16's RGB ImageNet weights (with --data); the default task's "
                                        "images are grey and its backbone learnt on images scaled by 1/255");
    }

    [[nodiscard]] const ExperimentOptions& options() const { return options_; }
    [[nodiscard]] std::ostream& log() const { return *log_; }
    [[nodiscard]] const fs::path& out() const { return options_.out; }
    [[nodiscard]] bool book() const { return options_.book(); }

    // ---- Files ---------------------------------------------------------------------
    [[nodiscard]] std::string model_name(ModelId id) const {
        return std::string(Setting::file_prefix) + "_" + std::string(facts(id).file_suffix);
    }
    [[nodiscard]] fs::path model_file(ModelId id) const { return out() / (model_name(id) + ".safetensors"); }
    [[nodiscard]] fs::path history_file(ModelId id) const { return out() / (model_name(id) + ".history.csv"); }
    [[nodiscard]] fs::path curves_file(ModelId id) const { return out() / (model_name(id) + ".learning_curves.png"); }
    // The default task's pretrained backbone, when --weights does not name one.
    [[nodiscard]] fs::path default_backbone_file() const {
        return out() / (std::string(Setting::Backbone::name.view()) + ".safetensors");
    }

    // ---- Images --------------------------------------------------------------------
    // Loaded on first use: dataset_builder's folders with --data, else the default task.
    const ImageSplits& data() {
        if (!data_) {
            fs::create_directories(out());  // every step that writes starts here
            const Stopwatch clock;
            if (book()) {
                const SplitCounts caps{options_.train_per_class.value_or(0), options_.validation_per_class.value_or(0),
                                       options_.test_per_class.value_or(0)};
                log() << "Loading images from " << options_.data->string() << " at " << Setting::height << "x"
                      << Setting::width << "..." << std::endl;
                data_ = load_folder_splits(*options_.data, image_size, caps, options_.seed);
            } else {
                const SplitCounts counts{options_.train_per_class.value_or(1500),
                                         options_.validation_per_class.value_or(500),
                                         options_.test_per_class.value_or(500)};
                data_ = fashion_target_task(read_fashion_file(tn::fashion_mnist_dir(), "train"), counts, options_.seed);
            }
            const auto& d = *data_;
            const std::size_t images = d.train.size() + d.validation.size() + d.test.size();
            log() << "Images: train " << d.train.size() << ", validation " << d.validation.size() << ", test "
                  << d.test.size() << " (classes: 0 = " << d.classes[0] << ", 1 = " << d.classes[1] << ")\n  from "
                  << d.source << std::endl;
            const double seconds = clock.seconds();
            record({"Loading images", seconds, images, seconds > 0 ? images / seconds : 0.0,
                    std::to_string(images) + (book() ? " JPEGs decoded and resized" : " images read from the IDX file")});
        }
        return *data_;
    }

    // ---- Training plans ------------------------------------------------------------
    [[nodiscard]] TrainingPlan plan(ModelId id) const {
        const ModelFacts& f = facts(id);
        TrainingPlan p;
        p.epochs = options_.epochs.value_or(Setting::epochs[index_of(id)]);
        p.batch_size = options_.batch_size.value_or(f.batch_size);
        p.validation_batch_size = options_.batch_size.value_or(f.validation_batch_size);
        p.learning_rate = static_cast<float>(options_.learning_rate.value_or(scaled_learning_rate(id, p.epochs)));
        return p;
    }

    // The chapter's learning rate, for the book. The default task trains for fewer epochs
    // than the chapter (a CPU budget), so its rates grow by the same factor, up to 1e-3 (the
    // rate of A and B): with RMSprop every update moves a weight by about the rate, so the
    // run travels as far as the chapter's. At the chapter's epochs it is the chapter's rate.
    [[nodiscard]] double scaled_learning_rate(ModelId id, std::size_t epochs) const {
        const double rate = facts(id).learning_rate;
        if (book() || epochs == 0) return rate;
        const double factor = static_cast<double>(BookSetting::epochs[index_of(id)]) / static_cast<double>(epochs);
        return std::max(rate, std::min(1e-3, rate * factor));
    }

    // The augmentation of models C, E and F, before scaling (rescale 1: pixels stay 0..255,
    // the model's preprocessing follows). "chapter": the book's settings. "mild": a
    // horizontal flip and shifts of 5% (1.4 pixels at 28x28), the default task's choice:
    // Fashion-MNIST's clothes are centred, upright and scaled to the frame, so turns, zooms
    // and large shifts make images no test set has (measured: they cost the augmented
    // models 1-3 points of validation accuracy there), while a mirror image is still a shirt.
    [[nodiscard]] std::string augmentation_kind() const {
        return !options_.augmentation.empty() ? options_.augmentation : (book() ? "chapter" : "mild");
    }
    [[nodiscard]] tn::ImageDataGenerator augmentation() const {
        tn::ImageDataGenerator g;
        if (augmentation_kind() == "chapter") {
            g = tn::chapter5_augmentation();
        } else {  // mild: a flip and 5% shifts
            g.horizontal_flip = true;
            g.fill_mode = tn::FillMode::nearest;
            g.width_shift_range = 0.05;
            g.height_shift_range = 0.05;
        }
        g.rescale = 1.0f;  // the images here are raw 0..255; preprocessing scales them later
        g.convention = options_.keras_convention;
        return g;
    }
    [[nodiscard]] std::string augmentation_text() const {
        const auto g = augmentation();
        char text[240];
        std::snprintf(text, sizeof text,
                      "%s: rotation_range=%g, width_shift_range=%g, height_shift_range=%g, shear_range=%g, "
                      "zoom_range=%g, horizontal_flip=True, fill_mode='nearest' (%s convention)",
                      augmentation_kind().c_str(), g.rotation_range, g.width_shift_range, g.height_shift_range,
                      g.shear_range, g.zoom_range.upper - 1.0, tn::to_string(g.convention));
        return text;
    }
    // The backbone's input preparation: the flag with --data; the default task's is always
    // the chapter's (its backbone was pretrained on images scaled by 1/255).
    [[nodiscard]] tn::Preprocessing preprocessing() const { return options_.preprocessing; }

    // ---- The record ----------------------------------------------------------------
    void record(StepRecord step) {
        log() << "-- " << step.step << ": " << format_seconds(step.seconds);
        if (step.images_per_second > 0) {
            char rate[64];
            std::snprintf(rate, sizeof rate, ", %.0f images/s", step.images_per_second);
            log() << rate;
        }
        log() << std::endl;
        steps_.push_back(std::move(step));
    }
    [[nodiscard]] const std::vector<StepRecord>& steps() const { return steps_; }

    // A banner before each step, so a long run shows where it is.
    void banner(const std::string& text) const {
        log() << "\n==== " << text << " ====" << std::endl;
    }

private:
    ExperimentOptions options_;
    std::ostream* log_;
    std::optional<ImageSplits> data_;
    std::vector<StepRecord> steps_;
};

}  // namespace examples
