// examples/chapter5/backbone.hpp
// Where models D, E and F get their backbone's weights. The book downloads VGG-16's
// ImageNet weights (Keras VGG16(weights='imagenet')); here they come from --weights (a
// file made by typenet-convert). The embedded default has no ImageNet: its stand-in is a
// narrow VGG trained first on the 8 Fashion-MNIST classes that are not the target task,
// and saved as VGG-16's file is, the convolutional base alone.
//
//   backbone_weights(exp)        --weights, or the default task's file in --out, or pretrain it now
//   find_backbone_weights(exp)   the same without pretraining (evaluate: D needs it, optional)
//   load_backbone(exp)           the frozen base with those weights (model D's feature extractor)
#pragma once

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "common/experiment.hpp"
#include "common/fashion_task.hpp"
#include "common/image_data.hpp"
#include "common/setting.hpp"
#include "typenet/data/idx.hpp"
#include "typenet/io/safetensors.hpp"
#include "typenet/io/weights.hpp"
#include "typenet/plot/learning_curves.hpp"
#include "typenet/train/callbacks.hpp"
#include "typenet/train/trainer.hpp"
#include "typenet/typenet.hpp"

namespace examples {

// The default task's backbone with a classifier for the 8 "ImageNet" classes.
using FashionPretrainingNet = tn::Sequential<tn::Input<28, 28, 1>, VGGNarrow, tn::Flatten,
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
    PreparedSource train_source = plain_source(train, tn::Preprocessing::rescale, true, o.seed);
    PreparedSource validation_source = plain_source(validation, tn::Preprocessing::rescale);
    auto trainer = tn::compile(*model, tn::SparseCategoricalCrossentropy{}, tn::Adam{.learning_rate = 1e-3f});
    exp.log() << "Adam(lr=0.001), sparse categorical cross-entropy, batch 32, " << count_of(o.pretrain_epochs, "epoch") << ", "
              << train.size() << " images of 8 classes (validation: " << validation.size()
              << " from the test file)\n";
    const fs::path csv_file = exp.out() / "vgg_narrow_pretraining.history.csv";
    tn::CSVLogger csv(csv_file);
    tn::BackupAndRestore backup = resume_state(exp, exp.out() / "vgg_narrow_pretraining.training_state");
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
    exp.log() << "Saved the backbone to " << file.string() << " (" << VGGNarrow::param_count
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
// A file meant for another backbone is refused before any tensor is read, naming the file:
// typenet-convert and save_weights record the model in the file's metadata (vgg16,
// resnet50, mobilenetv2_1.00_224, vgg_narrow). A file without that entry is left to
// load_weights, which compares every tensor.
template <class Setting>
void check_backbone_file(const fs::path& file) {
    const auto metadata = tn::io::read_safetensors_metadata(file);
    const auto model = metadata.find("model");
    if (model == metadata.end() || model->second.rfind(Setting::weights_model, 0) == 0) return;
    throw std::runtime_error("--weights " + file.string() + ": these are the weights of model '" + model->second +
                             "', not of " + std::string(Setting::backbone_short) + " (--backbone " +
                             std::string(Setting::backbone_flag) + "): give the file typenet-convert --model " +
                             std::string(Setting::backbone_flag) + " wrote, or the --backbone it was made for");
}

// The backbone's weights: --weights, or (default task) the one an earlier step saved in
// --out, or, when `pretrain_if_missing`, a new one pretrained now. The book's VGG-16 must
// come from --weights. Without a file (and no pretraining) the answer is empty.
template <class Setting>
std::optional<fs::path> find_backbone_weights(Experiment<Setting>& exp, bool pretrain_if_missing) {
    if (const auto& given = exp.options().weights) {
        if (!fs::is_regular_file(*given))
            throw std::runtime_error("--weights " + given->string() + ": no such file");
        check_backbone_file<Setting>(*given);
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

template <class Setting>
std::string missing_backbone_message() {
    if constexpr (std::is_same_v<Setting, FashionSetting>) {
        return "no pretrained backbone: run chapter5 (or vgg16_bottleneck) first, or pass --weights FILE";
    } else {
        const std::string h5(Setting::weights_h5), md5(Setting::weights_md5), flag(Setting::backbone_flag);
        return "the " + std::string(Setting::backbone_short) + " weights are needed (--weights FILE): download " +
               std::string(Setting::weights_dir) + h5 + (md5.empty() ? "" : " (md5 " + md5 + ")") +
               " and convert it with\n  typenet-convert --model " + flag + " " + h5 + " " + flag + ".safetensors";
    }
}

template <class Setting>
fs::path backbone_weights(Experiment<Setting>& exp) {
    if (auto file = find_backbone_weights(exp, true)) return *file;
    throw std::runtime_error(missing_backbone_message<Setting>());
}

template <class Setting>
std::unique_ptr<typename Setting::Backbone> load_backbone(Experiment<Setting>& exp) {
    auto base = std::make_unique<typename Setting::Backbone>(tn::no_initialization);
    const fs::path file = backbone_weights(exp);
    tn::io::load_weights(*base, file);
    base->set_trainable(false);
    return base;
}

}  // namespace examples
