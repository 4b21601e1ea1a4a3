// Model D of the chapter: a frozen VGG-16 base turns every image into 8,192 bottleneck
// features (block5_pool, 4x4x512, flattened); a dense head (Dense 512, Dropout .3,
// Dense 512, Dropout .3, Dense 1) is trained on them with RMSprop lr 1e-4, batch 30, 30 epochs.
//
//   vgg16_bottleneck --summary                                  base and head as Keras prints them
//   vgg16_bottleneck --data data --weights vgg16.safetensors    the book's experiment
//   vgg16_bottleneck                                            the embedded default (narrow VGG)
//   vgg16_bottleneck --data data --backbone resnet50 --weights resnet50.safetensors
//        the same head on ResNet-50's features (5x5x2048 at 150x150; mobilenetv2: 5x5x1280)
//   vgg16_bottleneck --weights vgg16.safetensors --extract DIR OUT.npy
//        the (N, 8192) features of every image in DIR, in file-name order, at 150x150
//        (RGB / 255 unless --preprocessing caffe); nothing is trained
//
// Writes <out>/<prefix>_tlearn_basic_cnn.safetensors (the head), .history.csv,
// .learning_curves.png, bottleneck_features_{train,validation}.npy and feature_map.png.
// chapter5.cpp and evaluate.cpp include this file (with EXAMPLES_NO_MAIN).
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "chapter5/backbone.hpp"
#include "common/cli.hpp"
#include "common/evaluation.hpp"
#include "common/experiment.hpp"
#include "common/options.hpp"
#include "common/program.hpp"
#include "typenet/io/npy.hpp"
#include "typenet/io/weights.hpp"
#include "typenet/plot/feature_map.hpp"
#include "typenet/typenet.hpp"
#include "typenet/zoo/vgg.hpp"

namespace vgg16_bottleneck {

namespace tn = typenet;
namespace fs = std::filesystem;
using examples::Experiment;
using examples::ModelId;

// The backbone: Keras's vgg16.VGG16(include_top=False, weights='imagenet',
// input_shape=(150, 150, 3)) with every layer frozen, in the book (tn::zoo::VGG16Base<150,
// 150>, 14,714,688 parameters); the narrow VGG for the default task.
template <class Setting>
using Backbone = typename Setting::Backbone;

// The head, in Keras:
//   model = Sequential()
//   model.add(InputLayer(input_shape=(input_shape,)))   # 8192 bottleneck features
//   model.add(Dense(512, activation='relu')); model.add(Dropout(0.3))
//   model.add(Dense(512, activation='relu')); model.add(Dropout(0.3))
//   model.add(Dense(1, activation='sigmoid'))
template <class Setting>
using Head = tn::Sequential<tn::Input<Backbone<Setting>::output_shape::size>,  //
                            tn::Dense<512, tn::ReLU>, tn::Dropout<0.3f>,        //
                            tn::Dense<512, tn::ReLU>, tn::Dropout<0.3f>,        //
                            tn::Dense<1, tn::Sigmoid>>;

// The frozen base's flattened output for every image, in batches (Keras's
// vgg_model.predict(images)), as (N, features).
template <class Setting>
xt::xtensor<float, 2> bottleneck_features(Backbone<Setting>& base, const examples::ImageArrays& arrays,
                                          tn::Preprocessing mode, std::size_t batch_size = 30) {
    examples::PreparedSource source = examples::plain_source(arrays, mode);
    return tn::predict(base, *source, batch_size);
}

// One image's backbone output as the chapter's feature-map picture.
template <class Setting>
void write_feature_map(Experiment<Setting>& exp, const xt::xtensor<float, 2>& features, std::size_t image,
                       const std::string& image_name) {
    using Out = typename Backbone<Setting>::output_shape;
    const fs::path png = exp.out() / "feature_map.png";
    const std::string name(Backbone<Setting>::name.view());
    const std::string layer(Setting::output_layer);
    tn::plot_feature_map(std::span<const float>(features.data() + image * Out::size, Out::size),
                         static_cast<int>(Out::dims[0]), static_cast<int>(Out::dims[1]),
                         static_cast<int>(Out::dims[2]), png, name + " " + layer + " of " + image_name);
    exp.log() << "Wrote " << png.string() << " (" << name << " output of " << image_name << ")" << std::endl;
}

template <class Setting>
tn::History train(Experiment<Setting>& exp) {
    constexpr ModelId id = ModelId::D;
    const examples::Stopwatch clock;
    exp.banner(examples::step_title(id));
    const std::uint64_t seed = exp.options().seed;

    // vgg = vgg16.VGG16(include_top=False, weights='imagenet', input_shape=input_shape)
    // for layer in vgg_model.layers: layer.trainable = False
    auto base = examples::load_backbone(exp);  // before the images: a wrong file stops the run at once
    base->summary(exp.log());
    const examples::ImageSplits& data = exp.data();
    exp.log() << "Preprocessing: " << tn::describe(exp.preprocessing()) << std::endl;

    // train_features_vgg = get_bottleneck_features(vgg_model, train_imgs_scaled), saved as .npy
    const examples::Stopwatch extraction;
    const auto train_features = bottleneck_features<Setting>(*base, data.train, exp.preprocessing());
    const auto validation_features = bottleneck_features<Setting>(*base, data.validation, exp.preprocessing());
    const double extraction_seconds = extraction.seconds();
    const std::size_t extracted = data.train.size() + data.validation.size();
    tn::io::write_npy(exp.out() / "bottleneck_features_train.npy", train_features);
    tn::io::write_npy(exp.out() / "bottleneck_features_validation.npy", validation_features);
    exp.log() << "Bottleneck features: train " << train_features.shape()[0] << "x" << train_features.shape()[1]
              << ", validation " << validation_features.shape()[0] << "x" << validation_features.shape()[1] << " ("
              << examples::format_seconds(extraction_seconds)
              << "), saved as bottleneck_features_{train,validation}.npy" << std::endl;
    exp.record({"D: bottleneck feature extraction", extraction_seconds, extracted,
                extraction_seconds > 0 ? static_cast<double>(extracted) / extraction_seconds : 0.0,
                "forward pass of " + std::to_string(extracted) + " images"});
    write_feature_map(exp, train_features, 0, data.train.names[0]);

    const examples::Stopwatch head_clock;
    auto head = std::make_unique<Head<Setting>>(seed);
    head->summary(exp.log());

    // model.compile(loss='binary_crossentropy', optimizer=optimizers.RMSprop(lr=1e-4), metrics=['accuracy'])
    const examples::TrainingPlan plan = exp.plan(id);  // lr 1e-4, batch 30, 30 epochs unless a flag says otherwise
    auto trainer = tn::compile(*head, tn::BinaryCrossentropy{}, tn::RMSprop{.learning_rate = plan.learning_rate});

    // model.fit(x=train_features_vgg, y=train_labels_enc, validation_data=(validation_features_vgg, ...), ...)
    tn::ArraySource train(train_features, data.train.labels, /*shuffle=*/true, seed);
    tn::ArraySource validation(validation_features, data.validation.labels);
    tn::CSVLogger csv(exp.history_file(id));
    tn::BackupAndRestore backup = examples::resume_state(exp, id);
    examples::log_plan(exp, plan, train, &validation);
    const tn::History history = trainer.fit(train, {.epochs = plan.epochs,
                                                    .batch_size = plan.batch_size,
                                                    .validation = &validation,
                                                    .validation_batch_size = plan.validation_batch_size,
                                                    .verbose = exp.options().verbose(),
                                                    .callbacks = {&csv, &backup},
                                                    .out = &exp.log()});

    // model.save('cats_dogs_tlearn_basic_cnn.h5'): the head; the features' preprocessing goes with it
    examples::save_model(*head, exp.model_file(id), exp.preprocessing());
    examples::report_training(exp, id, history, head_clock);
    return history;
}

// vgg16_bottleneck --extract DIR OUT.npy: (N, features) for every image of DIR in
// file-name order, at the Setting's size, with the experiment's preprocessing.
template <class Setting>
void extract_features(Experiment<Setting>& exp, const fs::path& folder, const fs::path& npy) {
    const examples::Stopwatch clock;
    auto base = examples::load_backbone(exp);
    tn::ImageLoadOptions options;
    options.size = Experiment<Setting>::image_size;
    options.rescale = 1.0f;
    // Any file name, not only <class>.<n>.jpg: every readable image of the folder counts.
    const tn::ImageSet set = tn::load_image_set(folder, options);
    examples::ImageArrays arrays{set.images, set.labels, {}};
    for (const auto& file : set.files) arrays.names.push_back(file.filename().string());
    exp.log() << "Preprocessing: " << tn::describe(exp.preprocessing()) << "\n";
    const auto features = bottleneck_features<Setting>(*base, arrays, exp.preprocessing());
    tn::io::write_npy(npy, features);
    exp.log() << "Wrote " << npy.string() << ": (" << features.shape()[0] << ", " << features.shape()[1]
              << ") features of the images of " << folder.string() << " in file-name order ("
              << examples::format_seconds(clock.seconds()) << ")" << std::endl;
}

// --summary: the frozen base and the head, as Keras prints them.
template <class Setting>
void print_summary(std::ostream& out) {
    auto base = std::make_unique<Backbone<Setting>>(tn::no_initialization);
    base->set_trainable(false);
    base->summary(out);
    auto head = std::make_unique<Head<Setting>>(tn::no_initialization);
    head->summary(out);
}

// evaluate: the saved head's class-1 probabilities on the test images' features, each image
// prepared as the head's file says its features were.
template <class Setting>
std::vector<float> test_probabilities(Experiment<Setting>& exp, const fs::path& head_file,
                                      const fs::path& base_file) {
    auto base = std::make_unique<Backbone<Setting>>(tn::no_initialization);
    tn::io::load_weights(*base, base_file);
    auto head = std::make_unique<Head<Setting>>(tn::no_initialization);
    tn::io::load_weights(*head, head_file);
    const auto features = bottleneck_features<Setting>(
        *base, exp.data().test, examples::saved_preprocessing(head_file, exp.preprocessing()));
    const xt::xtensor<float, 2> p = tn::predict(*head, features, 100);
    return std::vector<float>(p.begin(), p.end());
}

}  // namespace vgg16_bottleneck

// What the other backbones compile apart (examples/backbones/<backbone>.cpp, one translation
// unit each): `extern` here, explicit instantiations there.
#define VGG16_BOTTLENECK_INSTANCES(EXTERN, S)                                                              \
    EXTERN template typenet::History vgg16_bottleneck::train<S>(examples::Experiment<S>&);                     \
    EXTERN template void vgg16_bottleneck::extract_features<S>(examples::Experiment<S>&,                       \
                                                               const std::filesystem::path&,                   \
                                                               const std::filesystem::path&);                  \
    EXTERN template void vgg16_bottleneck::print_summary<S>(std::ostream&);                                    \
    EXTERN template std::vector<float> vgg16_bottleneck::test_probabilities<S>(                                \
        examples::Experiment<S>&, const std::filesystem::path&, const std::filesystem::path&);
#if TYPENET_EXAMPLE_BACKBONES
VGG16_BOTTLENECK_INSTANCES(extern, examples::ResNet50Setting)
VGG16_BOTTLENECK_INSTANCES(extern, examples::MobileNetV2Setting)
#endif

#ifndef EXAMPLES_NO_MAIN
int main(int argc, char** argv) {
    auto flags = examples::with_backbone_flags(examples::experiment_flags());
    flags.push_back("extract");
    const examples::CommandLine cli(
        argc, argv,
        "usage: vgg16_bottleneck [options]   (model D: frozen VGG-16 features + dense head)\n"
        "       vgg16_bottleneck --weights FILE --extract DIR OUT.npy [--preprocessing rescale|caffe]\n"
        "  --extract DIR OUT.npy  write the (N, 8192) VGG-16 block5_pool features of every image in DIR\n"
        "                         (file-name order, 150x150 RGB) to OUT.npy and exit; needs --weights\n"
        "                         (with --backbone: that backbone's flattened output)\n" +
            examples::experiment_usage() + examples::backbone_usage(),
        flags, examples::experiment_switches());
    const auto options = examples::parse_experiment_options(cli);
    if (options.summary) {
        examples::with_book_backbone(options.backbone, [](auto setting) {
            vgg16_bottleneck::print_summary<typename decltype(setting)::type>(std::cout);
        });
        return 0;
    }
    if (cli.has("extract")) {
        if (cli.positional().size() != 1) cli.fail("--extract DIR OUT.npy: give the output file after the folder");
        const std::filesystem::path folder = cli.text("extract"), npy = cli.positional()[0];
        return examples::with_book_backbone(options.backbone, [&](auto setting) {
            return examples::run_in<typename decltype(setting)::type>(
                options, "bottleneck features", [&](auto& exp) { vgg16_bottleneck::extract_features(exp, folder, npy); });
        });
    }
    if (!cli.positional().empty()) cli.fail("unexpected argument " + cli.positional()[0]);
    return examples::run_with_backbone(options, "model D", [](auto& exp) { vgg16_bottleneck::train(exp); });
}
#endif
