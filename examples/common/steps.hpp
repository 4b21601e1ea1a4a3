// examples/common/steps.hpp
// The chapter's training steps, one function per model, templated on the Setting so the
// book (150x150x3, VGG-16) and the default task (28x28x1, narrow VGG) run the same code.
// Every step prints the model's summary and Keras-style epoch lines, and saves under
// --out: the weights (safetensors, the chapter's file name), the history (CSV) and the
// learning curves (PNG).
//
//   train_in_memory<S, Model>(exp, A|B)   images scaled by 1/255, in memory (models A, B)
//   train_augmented_cnn(exp)              model B's network on augmented batches (model C)
//   train_bottleneck(exp)                 frozen backbone -> .npy features -> dense head (D)
//   train_transfer(exp, E|F)              backbone inside the model, frozen (E) or fine-tuned
//                                         from Setting::finetune_from (F), augmented
//   pretrain_backbone(exp)                the default task's "ImageNet" step
//   extract_features(exp, dir, npy)       vgg16_bottleneck --extract
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <opencv2/core.hpp>
#include <xtensor/xtensor.hpp>

#include "common/experiment.hpp"
#include "common/fashion_task.hpp"
#include "common/image_data.hpp"
#include "typenet/core/random.hpp"
#include "typenet/data/array_source.hpp"
#include "typenet/data/augment.hpp"
#include "typenet/data/image_array_source.hpp"
#include "typenet/data/image_files.hpp"
#include "typenet/data/image_set.hpp"
#include "typenet/data/preprocessing.hpp"
#include "typenet/io/npy.hpp"
#include "typenet/io/safetensors.hpp"
#include "typenet/io/weights.hpp"
#include "typenet/plot/feature_map.hpp"
#include "typenet/plot/image_grid.hpp"
#include "typenet/plot/learning_curves.hpp"
#include "typenet/train/callbacks.hpp"
#include "typenet/train/predict.hpp"
#include "typenet/train/trainer.hpp"
#include "typenet/typenet.hpp"

namespace examples {

// A batch source of raw images with its preprocessing on top, kept together.
class PreparedSource {
public:
    PreparedSource(std::unique_ptr<tn::BatchSource> raw, tn::Preprocessing mode, std::size_t channels)
        : raw_(std::move(raw)), prepared_(std::make_unique<tn::PreprocessedSource>(*raw_, mode, channels)) {}
    tn::BatchSource& operator*() { return *prepared_; }
    tn::BatchSource* get() { return prepared_.get(); }

private:
    std::unique_ptr<tn::BatchSource> raw_;
    std::unique_ptr<tn::PreprocessedSource> prepared_;
};

// The arrays as they are (no copy), prepared with `mode`.
inline PreparedSource plain_source(const ImageArrays& arrays, tn::Preprocessing mode, bool shuffle = false,
                                   std::uint64_t seed = 0) {
    return PreparedSource(std::make_unique<ArrayViewSource>(arrays, shuffle, seed), mode,
                          arrays.images.shape()[3]);
}

// Keras's ImageDataGenerator(...).flow(x, y): every epoch augments every image afresh.
template <class Setting>
PreparedSource augmented_source(const Experiment<Setting>& exp, const ImageArrays& arrays, tn::Preprocessing mode) {
    tn::ImageArrayOptions options;
    options.generator = exp.augmentation();
    options.shuffle = true;
    options.seed = exp.options().seed;
    return PreparedSource(std::make_unique<tn::ImageArraySource>(arrays.images, arrays.labels, options), mode,
                          arrays.images.shape()[3]);
}

// The model's outputs (probability of class 1) for every image of `arrays`, in order.
template <class Model>
std::vector<float> probabilities(Model& model, const ImageArrays& arrays, tn::Preprocessing mode,
                                 std::size_t batch_size = 50) {
    PreparedSource source = plain_source(arrays, mode);
    const xt::xtensor<float, 2> p = tn::predict(model, *source, batch_size);
    return std::vector<float>(p.begin(), p.end());
}

inline double accuracy_of(const std::vector<float>& probabilities, const ImageArrays& arrays) {
    std::size_t hits = 0;
    for (std::size_t i = 0; i < arrays.size(); ++i)
        hits += static_cast<int>(probabilities[i] > 0.5f) == static_cast<int>(arrays.labels(i)) ? 1 : 0;
    return arrays.size() ? static_cast<double>(hits) / static_cast<double>(arrays.size()) : 0.0;
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

// The training state of a fit kept in --out after every epoch (`state`), which --resume
// continues from: the same flags then give the same weights as a run never killed.
template <class Setting>
tn::BackupAndRestore training_backup(Experiment<Setting>& exp, const fs::path& state) {
    if (exp.options().resume && !fs::exists(state))
        exp.log() << "No training state " << state.string() << " yet: this training starts from the beginning\n";
    return tn::BackupAndRestore(state, {.restore = exp.options().resume, .delete_at_end = false});
}

// "<out>/cats_dogs_basic_cnn.training_state" beside "<out>/cats_dogs_basic_cnn.safetensors".
inline fs::path state_file_for(fs::path model_file) { return model_file.replace_extension(".training_state"); }

// Binary cross-entropy and RMSprop with the plan's rate, as every model of the chapter.
// The training state goes to `state` after every epoch (--resume continues from it).
template <class Setting, class Model>
tn::History fit_model(Experiment<Setting>& exp, Model& model, const TrainingPlan& plan, tn::BatchSource& train,
                      tn::BatchSource* validation, const fs::path& state, std::vector<tn::Callback*> callbacks = {}) {
    tn::BackupAndRestore backup = training_backup(exp, state);
    callbacks.push_back(&backup);
    auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::RMSprop{.learning_rate = plan.learning_rate});
    char line[160];
    std::snprintf(line, sizeof line, "RMSprop(lr=%.2g), binary cross-entropy, batch %zu, %s, %zu images%s\n",
                  static_cast<double>(plan.learning_rate), plan.batch_size, count_of(plan.epochs, "epoch").c_str(),
                  train.size(),
                  validation ? (", validation " + std::to_string(validation->size())).c_str() : "");
    exp.log() << line;
    return trainer.fit(train, {.epochs = plan.epochs,
                               .batch_size = plan.batch_size,
                               .validation = validation,
                               .validation_batch_size = plan.validation_batch_size,
                               .verbose = exp.options().verbose(),
                               .callbacks = std::move(callbacks),
                               .out = &exp.log()});
}

// io::save_weights with one more metadata entry, "preprocessing": the input preparation
// the weights were trained with travels with them, so `evaluate` feeds each model what it
// learnt on (the tensors and the other entries are save_weights' own).
template <class Model>
void save_model(const Model& model, const fs::path& path, tn::Preprocessing mode) {
    tn::io::save_weights(model, path, {{"preprocessing", std::string(tn::to_string(mode))}});
}

// The preprocessing a saved model was trained with (its metadata), or `fallback` for a
// file without the entry.
inline tn::Preprocessing saved_preprocessing(const fs::path& path, tn::Preprocessing fallback) {
    const auto metadata = tn::io::read_safetensors_metadata(path);
    const auto found = metadata.find("preprocessing");
    return found == metadata.end() ? fallback : tn::parse_preprocessing(found->second);
}

// fit_model for one of the chapter's models, then its weights, history and curves on disk.
template <class Setting, class Model>
tn::History fit_and_save(Experiment<Setting>& exp, Model& model, ModelId id, tn::BatchSource& train,
                         tn::BatchSource& validation, tn::Preprocessing preprocessing) {
    const TrainingPlan plan = exp.plan(id);
    tn::CSVLogger csv(exp.history_file(id));
    const tn::History history =
        fit_model(exp, model, plan, train, &validation, state_file_for(exp.model_file(id)), {&csv});
    save_model(model, exp.model_file(id), preprocessing);
    tn::plot_learning_curves(history_columns(history), exp.curves_file(id),
                             std::string("Model ") + letter(id) + ": " + std::string(facts(id).title));
    exp.log() << "Saved " << exp.model_file(id).string() << ", " << exp.history_file(id).filename().string() << ", "
              << exp.curves_file(id).filename().string() << std::endl;
    return history;
}

inline std::string step_title(ModelId id) {
    return std::string("Model ") + letter(id) + ": " + std::string(facts(id).title) + " (" +
           std::string(facts(id).program) + ")";
}

inline StepRecord training_record(ModelId id, double seconds, const tn::History& history) {
    std::size_t images = 0;
    for (std::size_t n : history.samples) images += n;
    const std::size_t per_epoch = history.samples.empty() ? 0 : history.samples.front();
    return {std::string(1, letter(id)) + ": " + std::string(facts(id).title), seconds, images,
            history.images_per_second(),
            count_of(history.epochs(), "epoch") + " x " + count_of(per_epoch, "image")};
}

// ---- Models A and B: from scratch, images in memory ------------------------------------

template <class Setting, class Model>
tn::History train_in_memory(Experiment<Setting>& exp, ModelId id) {
    const Stopwatch clock;
    exp.banner(step_title(id));
    const ImageSplits& data = exp.data();
    auto model = std::make_unique<Model>(exp.options().seed);
    model->summary(exp.log());
    PreparedSource train = plain_source(data.train, tn::Preprocessing::chapter, true, exp.options().seed);
    PreparedSource validation = plain_source(data.validation, tn::Preprocessing::chapter);
    const tn::History history = fit_and_save(exp, *model, id, *train, *validation, tn::Preprocessing::chapter);
    exp.record(training_record(id, clock.seconds(), history));
    return history;
}

// ---- The chapter's picture of augmentation ---------------------------------------------

// The first training image of each class and five augmented variants of it.
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
    for (const auto& p : pixels) views.emplace_back(std::span<const std::uint8_t>(p), static_cast<int>(h),
                                                    static_cast<int>(w), static_cast<int>(c));
    const fs::path png = exp.out() / "augmentation.png";
    tn::plot_image_grid(views, 6, labels, png, "Image augmentation (" + exp.augmentation_kind() + ")",
                        Setting::height < 100 ? 112 : 0);
    exp.log() << "Augmentation " << exp.augmentation_text() << "\nWrote " << png.string() << std::endl;
    return png;
}

// ---- Model C: model B's network on augmented batches -----------------------------------

template <class Setting>
tn::History train_augmented_cnn(Experiment<Setting>& exp) {
    const Stopwatch clock;
    const ModelId id = ModelId::C;
    exp.banner(step_title(id));
    const ImageSplits& data = exp.data();
    write_augmentation_picture(exp);
    auto model = std::make_unique<typename Setting::CNN>(exp.options().seed);
    model->summary(exp.log());
    PreparedSource train = augmented_source(exp, data.train, tn::Preprocessing::chapter);
    PreparedSource validation = plain_source(data.validation, tn::Preprocessing::chapter);
    const tn::History history = fit_and_save(exp, *model, id, *train, *validation, tn::Preprocessing::chapter);
    exp.record(training_record(id, clock.seconds(), history));
    return history;
}

// ---- The backbone ----------------------------------------------------------------------

// The default task's backbone with a classifier for the 8 "ImageNet" classes.
using FashionPretrainingNet = tn::Sequential<tn::Input<28, 28, 1>, tn::zoo::VGGNarrow, tn::Flatten,
                                             tn::Dense<256, tn::ReLU>, tn::Dropout<0.3f>, tn::Dense<8, tn::Softmax>>;

// Trains the narrow VGG on the 8 classes that are not the target (Adam 1e-3, batch 32,
// sparse categorical cross-entropy) and saves the backbone alone, as VGG-16's file holds
// the convolutional base alone. Returns the file.
inline fs::path pretrain_backbone(Experiment<FashionSetting>& exp, const fs::path& file) {
    const Stopwatch clock;
    exp.banner("Backbone: narrow VGG pretrained on the 8 other Fashion-MNIST classes (the \"ImageNet\" step)");
    const auto& o = exp.options();
    fs::create_directories(exp.out());
    const FashionFile train_file = read_fashion_file(tn::fashion_mnist_dir(), "train");
    const FashionFile test_file = read_fashion_file(tn::fashion_mnist_dir(), "t10k");
    const ImageArrays train = fashion_pretraining_set(train_file, o.pretrain_per_class, o.seed);
    const ImageArrays validation = fashion_pretraining_set(test_file, std::min<std::size_t>(250, o.pretrain_per_class),
                                                           o.seed);
    auto model = std::make_unique<FashionPretrainingNet>(o.seed);
    model->summary(exp.log());
    PreparedSource train_source = plain_source(train, tn::Preprocessing::chapter, true, o.seed);
    PreparedSource validation_source = plain_source(validation, tn::Preprocessing::chapter);
    auto trainer = tn::compile(*model, tn::SparseCategoricalCrossentropy{}, tn::Adam{.learning_rate = 1e-3f});
    exp.log() << "Adam(lr=0.001), sparse categorical cross-entropy, batch 32, " << count_of(o.pretrain_epochs, "epoch") << ", "
              << train.size() << " images of 8 classes (validation: " << validation.size()
              << " from the test file)\n";
    const fs::path csv_file = exp.out() / "vgg_narrow_pretraining.history.csv";
    tn::CSVLogger csv(csv_file);
    tn::BackupAndRestore backup = training_backup(exp, exp.out() / "vgg_narrow_pretraining.training_state");
    const tn::History history = trainer.fit(*train_source, {.epochs = o.pretrain_epochs,
                                                            .batch_size = 32,
                                                            .validation = validation_source.get(),
                                                            .validation_batch_size = 100,
                                                            .verbose = o.verbose(),
                                                            .callbacks = {&csv, &backup},
                                                            .out = &exp.log()});
    tn::io::save_weights(model->get<"vgg_narrow">(), file);
    const fs::path png = exp.out() / "vgg_narrow_pretraining.learning_curves.png";
    tn::plot_learning_curves(history_columns(history), png, "Backbone pretraining (8 classes)");
    exp.log() << "Saved the backbone to " << file.string() << " (" << tn::zoo::VGGNarrow::param_count
              << " parameters), " << csv_file.filename().string() << ", " << png.filename().string() << std::endl;
    std::size_t images = 0;
    for (std::size_t n : history.samples) images += n;
    exp.record({"Backbone pretraining (8 classes)", clock.seconds(), images, history.images_per_second(),
                count_of(history.epochs(), "epoch") + " x " + count_of(train.size(), "image")});
    return file;
}

// The backbone's weights: --weights, or (default task) the one an earlier step saved in
// --out, or, when `pretrain_if_missing`, a new one pretrained now. The book's VGG-16 must
// come from --weights. Without a file (and no pretraining) the answer is empty.
template <class Setting>
std::optional<fs::path> find_backbone_weights(Experiment<Setting>& exp, bool pretrain_if_missing) {
    if (const auto& given = exp.options().weights) {
        if (!fs::is_regular_file(*given))
            throw std::runtime_error("--weights " + given->string() + ": no such file");
        return *given;
    }
    if constexpr (std::is_same_v<Setting, FashionSetting>) {
        const fs::path file = exp.default_backbone_file();
        if (fs::is_regular_file(file)) {
            exp.log() << "Backbone: " << file.string() << " (pretrained by an earlier step)" << std::endl;
            return file;
        }
        if (pretrain_if_missing) return pretrain_backbone(exp, file);
    }
    return std::nullopt;
}

inline std::string missing_backbone_message(bool book) {
    if (book)
        return "the VGG-16 weights are needed (--weights FILE): download "
               "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
               "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 (md5 6d6bbae143d832006294945121d1f1fc) and convert "
               "it with\n  typenet-convert --model vgg16 vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 "
               "vgg16.safetensors";
    return "no pretrained backbone: run chapter5 (or vgg16_bottleneck) first, or pass --weights FILE";
}

template <class Setting>
fs::path backbone_weights(Experiment<Setting>& exp) {
    if (auto file = find_backbone_weights(exp, true)) return *file;
    throw std::runtime_error(missing_backbone_message(exp.book()));
}

template <class Setting>
std::unique_ptr<typename Setting::Backbone> load_backbone(Experiment<Setting>& exp) {
    auto base = std::make_unique<typename Setting::Backbone>(tn::no_initialization);
    const fs::path file = backbone_weights(exp);
    tn::io::load_weights(*base, file);
    base->set_trainable(false);
    return base;
}

// ---- Model D: bottleneck features ------------------------------------------------------

// The frozen base's flattened output for every image, in batches (Keras's
// vgg_model.predict(images)), as (N, features).
template <class Setting>
xt::xtensor<float, 2> bottleneck_features(typename Setting::Backbone& base, const ImageArrays& arrays,
                                          tn::Preprocessing mode, std::size_t batch_size = 30) {
    PreparedSource source = plain_source(arrays, mode);
    return tn::predict(base, *source, batch_size);
}

// One image's backbone output as the chapter's feature-map picture.
template <class Setting>
fs::path write_feature_map(Experiment<Setting>& exp, const xt::xtensor<float, 2>& features, std::size_t image,
                           const std::string& image_name) {
    using Out = typename Setting::Backbone::output_shape;
    const fs::path png = exp.out() / "feature_map.png";
    const std::string name(Setting::Backbone::name.view());
    const std::string layer = std::is_same_v<Setting, BookSetting> ? "block5_pool" : "block3_pool";
    tn::plot_feature_map(std::span<const float>(features.data() + image * Out::size, Out::size),
                         static_cast<int>(Out::dims[0]), static_cast<int>(Out::dims[1]),
                         static_cast<int>(Out::dims[2]), png, name + " " + layer + " of " + image_name);
    exp.log() << "Wrote " << png.string() << " (" << name << " output of " << image_name << ")" << std::endl;
    return png;
}

template <class Setting>
tn::History train_bottleneck(Experiment<Setting>& exp) {
    const Stopwatch clock;
    const ModelId id = ModelId::D;
    exp.banner(step_title(id));
    const ImageSplits& data = exp.data();
    auto base = load_backbone(exp);
    base->summary(exp.log());
    exp.log() << "Preprocessing: " << tn::describe(exp.preprocessing()) << std::endl;

    const Stopwatch extraction;
    const auto train_features = bottleneck_features<Setting>(*base, data.train, exp.preprocessing());
    const auto validation_features = bottleneck_features<Setting>(*base, data.validation, exp.preprocessing());
    const double extraction_seconds = extraction.seconds();
    const std::size_t extracted = data.train.size() + data.validation.size();
    tn::io::write_npy(exp.out() / "bottleneck_features_train.npy", train_features);
    tn::io::write_npy(exp.out() / "bottleneck_features_validation.npy", validation_features);
    exp.log() << "Bottleneck features: train " << train_features.shape()[0] << "x" << train_features.shape()[1]
              << ", validation " << validation_features.shape()[0] << "x" << validation_features.shape()[1] << " ("
              << format_seconds(extraction_seconds) << "), saved as bottleneck_features_{train,validation}.npy"
              << std::endl;
    exp.record({"D: bottleneck feature extraction", extraction_seconds, extracted,
                extraction_seconds > 0 ? static_cast<double>(extracted) / extraction_seconds : 0.0,
                "forward pass of " + std::to_string(extracted) + " images"});
    write_feature_map(exp, train_features, 0, data.train.names[0]);

    const Stopwatch head_clock;
    auto head = std::make_unique<typename Setting::Head>(exp.options().seed);
    head->summary(exp.log());
    tn::ArraySource train(train_features, data.train.labels, true, exp.options().seed);
    tn::ArraySource validation(validation_features, data.validation.labels);
    const tn::History history = fit_and_save(exp, *head, id, train, validation, exp.preprocessing());
    exp.record(training_record(id, head_clock.seconds(), history));
    return history;
}

// vgg16_bottleneck --extract DIR OUT.npy: (N, features) for every image of DIR in
// file-name order, at the Setting's size, with the experiment's preprocessing.
template <class Setting>
std::size_t extract_features(Experiment<Setting>& exp, const fs::path& folder, const fs::path& npy) {
    const Stopwatch clock;
    auto base = load_backbone(exp);
    tn::ImageLoadOptions options;
    options.size = Experiment<Setting>::image_size;
    options.rescale = 1.0f;
    // Any file name, not only <class>.<n>.jpg: every readable image of the folder counts.
    const tn::ImageSet set = tn::load_image_set(folder, options);
    ImageArrays arrays{set.images, set.labels, {}};
    for (const auto& file : set.files) arrays.names.push_back(file.filename().string());
    exp.log() << "Preprocessing: " << tn::describe(exp.preprocessing()) << "\n";
    const auto features = bottleneck_features<Setting>(*base, arrays, exp.preprocessing());
    tn::io::write_npy(npy, features);
    exp.log() << "Wrote " << npy.string() << ": (" << features.shape()[0] << ", " << features.shape()[1]
              << ") features of the images of " << folder.string() << " in file-name order ("
              << format_seconds(clock.seconds()) << ")" << std::endl;
    return features.shape()[0];
}

// ---- Models E and F: the backbone inside the model -------------------------------------

// The transfer model with the backbone's weights: frozen (E), or trainable from
// Setting::finetune_from on (F; VGG-16: blocks 4 and 5).
template <class Setting>
std::unique_ptr<typename Setting::Transfer> transfer_model(Experiment<Setting>& exp, ModelId id) {
    auto model = std::make_unique<typename Setting::Transfer>(exp.options().seed);
    auto& base = model->template get<Setting::Backbone::name>();
    tn::io::load_weights(base, backbone_weights(exp));
    if (id == ModelId::F)
        model->set_trainable_from(Setting::finetune_from);
    else
        base.set_trainable(false);
    return model;
}

template <class Setting>
tn::History train_transfer(Experiment<Setting>& exp, ModelId id) {
    const Stopwatch clock;
    exp.banner(step_title(id));
    const ImageSplits& data = exp.data();
    auto model = transfer_model(exp, id);
    model->summary(exp.log());
    model->print_trainable(exp.log());
    exp.log() << "Preprocessing: " << tn::describe(exp.preprocessing()) << "\nAugmentation " << exp.augmentation_text()
              << std::endl;
    PreparedSource train = augmented_source(exp, data.train, exp.preprocessing());
    PreparedSource validation = plain_source(data.validation, exp.preprocessing());
    const tn::History history = fit_and_save(exp, *model, id, *train, *validation, exp.preprocessing());
    exp.record(training_record(id, clock.seconds(), history));
    return history;
}

}  // namespace examples
