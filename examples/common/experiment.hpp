// examples/common/experiment.hpp
// One run of the chapter's experiment at one scale (a Setting): its options, its images
// (loaded once, raw 0..255), where every file goes, each model's training plan, and a
// record of every step (wall time, images, images/s) for the report. Below the class, the
// small pieces every training program uses around its own compile / fit / save:
//
//   augmented_source(exp, arrays, mode)   Keras's ImageDataGenerator(...).flow(x, y)
//   resume_state(exp, id)                 BackupAndRestore in --out (what --resume continues)
//   save_model(model, file, mode)         save_weights, plus the preprocessing it learnt on
//   report_training(exp, id, history, t)  learning curves (PNG), a log line, the timing record
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
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
#include "chapter5/augmentation.hpp"
#include "typenet/core/random.hpp"
#include "typenet/data/array_source.hpp"
#include "typenet/data/augment.hpp"
#include "typenet/data/image_array_source.hpp"
#include "typenet/io/safetensors.hpp"
#include "typenet/io/weights.hpp"
#include "typenet/plot/image_grid.hpp"
#include "typenet/plot/learning_curves.hpp"
#include "typenet/train/callbacks.hpp"
#include "typenet/train/history.hpp"
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
        if (!tn::supports(preprocessing(), Setting::channels))
            throw std::invalid_argument("--preprocessing " + std::string(tn::to_string(preprocessing())) +
                                        " is for VGG-16's RGB ImageNet weights (with --data); the default task's "
                                        "images are grey and its backbone learnt on images scaled by 1/255");
    }

    [[nodiscard]] const ExperimentOptions& options() const { return options_; }
    [[nodiscard]] std::ostream& log() const { return *log_; }
    [[nodiscard]] const fs::path& out() const { return options_.out; }
    [[nodiscard]] bool book() const { return options_.book(); }

    // ---- Files ---------------------------------------------------------------------
    // Models D, E and F on another backbone than the book's carry its name:
    // cats_dogs_resnet50_tlearn_basic_cnn.
    [[nodiscard]] std::string model_name(ModelId id) const {
        const bool tagged = Setting::backbone_flag != "vgg16" && index_of(id) >= index_of(ModelId::D);
        return std::string(Setting::file_prefix) + "_" + (tagged ? std::string(Setting::backbone_flag) + "_" : "") +
               std::string(facts(id).file_suffix);
    }
    // Model F's first trainable layer: --fine-tune-from, else the backbone's last stage.
    [[nodiscard]] std::string finetune_from() const {
        return options_.fine_tune_from.value_or(std::string(Setting::finetune_from));
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
            g = chapter5::training_augmentation();
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
    // With another backbone (--backbone), that backbone's own unless --preprocessing says.
    [[nodiscard]] tn::Preprocessing preprocessing() const {
        return options_.preprocessing.value_or(Setting::backbone_preprocessing);
    }

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

// ---- Around each program's compile / fit / save ---------------------------------------

// Keras's ImageDataGenerator(...).flow(x, y): every epoch augments every image afresh
// (the experiment's augmentation, on raw pixels), then `mode` prepares them.
template <class Setting>
PreparedSource augmented_source(const Experiment<Setting>& exp, const ImageArrays& arrays, tn::Preprocessing mode) {
    tn::ImageArrayOptions options;
    options.generator = exp.augmentation();
    options.shuffle = true;
    options.seed = exp.options().seed;
    return PreparedSource(std::make_unique<tn::ImageArraySource>(arrays.images, arrays.labels, options), mode,
                          arrays.images.shape()[3]);
}

// The training state of a fit, kept in --out after every epoch ("<model>.training_state"),
// which --resume continues from: the same flags then give the same weights as a run never killed.
template <class Setting>
tn::BackupAndRestore resume_state(const Experiment<Setting>& exp, const fs::path& state) {
    if (exp.options().resume && !fs::exists(state))
        exp.log() << "No training state " << state.string() << " yet: this training starts from the beginning\n";
    return tn::BackupAndRestore(state, {.restore = exp.options().resume, .delete_at_end = false});
}
template <class Setting>
tn::BackupAndRestore resume_state(const Experiment<Setting>& exp, ModelId id) {
    return resume_state(exp, fs::path(exp.model_file(id)).replace_extension(".training_state"));
}

// One line before a fit: "RMSprop(lr=0.001), binary cross-entropy, batch 30, 30 epochs, ..."
template <class Setting>
void log_plan(const Experiment<Setting>& exp, const TrainingPlan& plan, const tn::BatchSource& train,
              const tn::BatchSource* validation) {
    char line[200];
    std::snprintf(line, sizeof line, "RMSprop(lr=%.2g), binary cross-entropy, batch %zu, %s, %zu images%s\n",
                  static_cast<double>(plan.learning_rate), plan.batch_size, count_of(plan.epochs, "epoch").c_str(),
                  train.size(), validation ? (", validation " + std::to_string(validation->size())).c_str() : "");
    exp.log() << line;
}

// io::save_weights with one more metadata entry, "preprocessing": the input preparation
// the weights were trained with travels with them, so `evaluate` feeds each model what it
// learnt on.
template <class Model>
void save_model(const Model& model, const fs::path& path, tn::Preprocessing mode) {
    tn::io::save_weights(model, path, {{"preprocessing", std::string(tn::to_string(mode))}});
}

// The preprocessing a saved model was trained with (its metadata), or `fallback` for a
// file without the entry. "chapter" is what files saved before the library's rename say.
inline tn::Preprocessing saved_preprocessing(const fs::path& path, tn::Preprocessing fallback) {
    const auto metadata = tn::io::read_safetensors_metadata(path);
    const auto found = metadata.find("preprocessing");
    if (found == metadata.end()) return fallback;
    return found->second == "chapter" ? tn::Preprocessing::rescale : tn::parse_preprocessing(found->second);
}

inline tn::HistoryColumns history_columns(const tn::History& history) {
    tn::HistoryColumns columns;
    for (std::size_t e = 0; e < history.epochs(); ++e) columns.epochs.push_back(static_cast<int>(e + 1));
    columns.series = {{"accuracy", history.accuracy}, {"loss", history.loss}};
    if (history.has_validation()) {
        columns.series.push_back({"val_accuracy", history.val_accuracy});
        columns.series.push_back({"val_loss", history.val_loss});
    }
    return columns;
}

inline std::string step_title(ModelId id) {
    return std::string("Model ") + letter(id) + ": " + std::string(facts(id).title) + " (" +
           std::string(facts(id).program) + ")";
}

// After a model is trained and saved: its learning curves, a log line, the report's record.
template <class Setting>
void report_training(Experiment<Setting>& exp, ModelId id, const tn::History& history, const Stopwatch& clock) {
    tn::plot_learning_curves(history_columns(history), exp.curves_file(id),
                             std::string("Model ") + letter(id) + ": " + std::string(facts(id).title));
    exp.log() << "Saved " << exp.model_file(id).string() << ", " << exp.history_file(id).filename().string() << ", "
              << exp.curves_file(id).filename().string() << std::endl;
    std::size_t images = 0;
    for (std::size_t n : history.samples) images += n;
    const std::size_t per_epoch = history.samples.empty() ? 0 : history.samples.front();
    exp.record({std::string(1, letter(id)) + ": " + std::string(facts(id).title), clock.seconds(), images,
                history.images_per_second(),
                count_of(history.epochs(), "epoch") + " x " + count_of(per_epoch, "image")});
}

// The chapter's picture of augmentation: the first training image of each class and five
// augmented variants of it, as <out>/augmentation.png.
template <class Setting>
fs::path write_augmentation_picture(Experiment<Setting>& exp) {
    const ImageSplits& data = exp.data();
    const auto generator = exp.augmentation();
    constexpr std::size_t h = Setting::height, w = Setting::width, c = Setting::channels;
    std::vector<std::vector<std::uint8_t>> pixels;
    std::vector<std::string> labels;
    for (std::size_t cls = 0; cls < data.classes.size(); ++cls) {
        std::size_t i = 0;
        while (i < data.train.size() && data.train.labels(i) != static_cast<float>(cls)) ++i;
        if (i == data.train.size()) continue;
        const cv::Mat image(static_cast<int>(h), static_cast<int>(w), CV_32FC(static_cast<int>(c)),
                            const_cast<float*>(data.train.images.data() + i * h * w * c));
        for (std::size_t v = 0; v <= 5; ++v) {
            cv::Mat shown = image;
            if (v > 0) {
                tn::Random rng = tn::augmentation_random(exp.options().seed, v - 1, i);
                shown = tn::augment_image(image, generator, rng);
            }
            cv::Mat bytes;
            shown.convertTo(bytes, CV_8U);  // saturates to 0..255
            pixels.emplace_back(bytes.datastart, bytes.dataend);
            labels.push_back(v == 0 ? data.classes[cls] : "augmented " + std::to_string(v));
        }
    }
    std::vector<tn::ImageView> views;
    for (const auto& p : pixels)
        views.emplace_back(std::span<const std::uint8_t>(p), static_cast<int>(h), static_cast<int>(w),
                           static_cast<int>(c));
    const fs::path png = exp.out() / "augmentation.png";
    tn::plot_image_grid(views, 6, labels, png, "Image augmentation (" + exp.augmentation_kind() + ")",
                        Setting::height < 100 ? 112 : 0);
    exp.log() << "Augmentation " << exp.augmentation_text() << "\nWrote " << png.string() << std::endl;
    return png;
}

}  // namespace examples
