// examples/common/options.hpp
// The flags every experiment program shares (docs/architecture.md, Programs, plus what the
// experiments need), parsed once into ExperimentOptions.
//
// Which experiment runs:
//   --data DIR    the book's: dataset_builder's folders (training_data/ ...), 150x150 RGB,
//                 VGG-16 from --weights (a file made by typenet-convert)
//   (no --data)   the embedded default: Fashion-MNIST T-shirt/top vs Shirt at 28x28, with
//                 a narrow VGG pretrained on the other 8 classes (--weights, or the one
//                 saved in --out by an earlier run, or pretrained now)
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "typenet/backend/cpu/parallel.hpp"
#include "typenet/data/image_data_generator.hpp"
#include "typenet/data/preprocessing.hpp"

namespace examples {

namespace fs = std::filesystem;

struct ExperimentOptions {
    std::optional<fs::path> data;     // --data: the book's experiment on these folders
    fs::path out = "chapter5_out";    // models, histories, pictures, report
    std::optional<std::size_t> epochs, batch_size;
    std::optional<double> learning_rate;
    std::uint64_t seed = 42;
    std::optional<fs::path> weights;  // the backbone's safetensors
    // Images per class and split: the default task's split sizes; with --data a cap (0: all).
    std::optional<std::size_t> train_per_class, validation_per_class, test_per_class;
    std::optional<typenet::Preprocessing> preprocessing;  // unset: the backbone's own (Setting)
    std::string backbone = "vgg16";                       // --backbone: models D, E, F (with --data)
    std::optional<std::string> fine_tune_from;           // --fine-tune-from: model F's first trainable layer
    std::string augmentation;           // "chapter", "mild" or "" (the setting's default)
    typenet::KerasConvention keras_convention = typenet::KerasConvention::keras2;  // whose augmentation pixels
    std::size_t pretrain_per_class = 6000;  // the default task's backbone: images per class (all)
    std::size_t pretrain_epochs = 2;
    bool quiet = false;
    bool summary = false;
    bool resume = false;  // continue each training from the state in --out (BackupAndRestore)

    [[nodiscard]] bool book() const { return data.has_value(); }
    [[nodiscard]] int verbose() const { return quiet ? 2 : 1; }
};

// Flags taking a value / switches, shared by the experiment programs.
inline std::vector<std::string> experiment_flags() {
    return {"data",           "out",          "epochs",      "batch-size",       "lr",
            "seed",           "weights",      "threads",     "train-per-class",  "validation-per-class",
            "test-per-class", "preprocessing", "augmentation", "pretrain-per-class", "pretrain-epochs",
            "keras-convention"};
}
inline std::vector<std::string> experiment_switches() { return {"summary", "quiet", "resume"}; }

// The programs of models D, E and F, evaluate and chapter5 also take another backbone
// (--backbone); model F's program and chapter5 the layer it is fine-tuned from.
inline constexpr const char* backbone_names[] = {"vgg16", "resnet50", "mobilenetv2"};
inline std::vector<std::string> with_backbone_flags(std::vector<std::string> flags, bool fine_tune = false) {
    flags.push_back("backbone");
    if (fine_tune) flags.push_back("fine-tune-from");
    return flags;
}
inline std::string backbone_usage(bool fine_tune = false) {
    std::string text =
        "  --backbone NAME       models D, E, F on vgg16 (the book's, default), resnet50 or mobilenetv2 (Keras's\n"
        "                        applications, include_top=False, at 150x150; with --data and --weights from\n"
        "                        typenet-convert --model NAME); each brings its preprocessing (rescale, caffe,\n"
        "                        tf); their files are <prefix>_<backbone>_<model>.safetensors\n";
    if (fine_tune)
        text +=
            "  --fine-tune-from L    model F's first trainable layer (default block4_conv1; conv5_block1_1_conv for\n"
            "                        resnet50, block_13_expand for mobilenetv2; block3_conv1 for the default task)\n";
    return text;
}

inline std::string experiment_usage() {
    return "  --data DIR            the book's experiment: dataset_builder's output (training_data/,\n"
           "                        validation_data/, test_data/) at 150x150 RGB with VGG-16. Without it:\n"
           "                        the embedded default, Fashion-MNIST T-shirt/top vs Shirt at 28x28\n"
           "  --out DIR             where models, histories, pictures go (default chapter5_out)\n"
           "  --weights FILE        the backbone (book: VGG-16 from typenet-convert; default task: the narrow\n"
           "                        VGG, by default <out>/vgg_narrow.safetensors, pretrained if missing)\n"
           "  --epochs N            override the chapter's (or the default task's) epochs\n"
           "  --batch-size N        override the batch size (30)\n"
           "  --lr X                override the learning rate (RMSprop; the default task scales the chapter's\n"
           "                        rate by chapter epochs / epochs, up to 1e-3)\n"
           "  --seed N              weights, shuffling, augmentation, the default task's draw (default 42)\n"
           "  --threads N           CPU threads (default: all cores)\n"
           "  --train-per-class N   training images per class (default task: 1500; --data: keep N)\n"
           "  --validation-per-class N, --test-per-class N   the same for validation (500) and test (500)\n"
           "  --preprocessing MODE  backbone input: rescale (RGB/255, the book's; 'chapter' says the same), caffe\n"
           "                        (Keras VGG-16 preprocess_input: BGR minus ImageNet means) or tf (x / 127.5 - 1);\n"
           "                        default: the backbone's (rescale for VGG-16, as the book)\n"
           "  --augmentation KIND   chapter (rotation 50, shifts 0.2, shear 0.2, zoom 0.3, h-flip) or mild\n"
           "                        (h-flip, shifts 0.05); default: chapter for --data, mild for the default task\n"
           "  --keras-convention C  keras2 (the book's Keras 2 ImageDataGenerator, default) or keras3 (Keras 3's:\n"
           "                        other centre, rows and columns swapped; see docs/data.md)\n"
           "  --pretrain-per-class N, --pretrain-epochs N   the default task's backbone (6000 = all, 2)\n"
           "  --quiet               one line per epoch\n"
           "  --resume              continue a killed run: each model's training goes on from the training state\n"
           "                        in --out (<model>.training_state, written after every epoch); give the same\n"
           "                        other flags. The weights come out bit-identical to an uninterrupted run\n"
           "  --summary             print the Keras-style summary of the book's model and exit\n";
}

inline ExperimentOptions parse_experiment_options(const CommandLine& cli) {
    ExperimentOptions o;
    if (cli.has("data")) o.data = fs::path(cli.text("data"));
    o.out = distributed().output(cli.text("out", "chapter5_out"));  // rank 0: as given
    if (cli.has("epochs")) o.epochs = cli.positive("epochs", 1);
    if (cli.has("batch-size")) o.batch_size = cli.positive("batch-size", 1);
    if (cli.has("lr")) o.learning_rate = cli.positive_number("lr", 1e-3);
    o.seed = static_cast<std::uint64_t>(cli.integer("seed", 42));
    if (cli.has("weights")) o.weights = fs::path(cli.text("weights"));
    if (cli.has("threads")) typenet::set_cpu_threads(static_cast<int>(cli.positive("threads", 1)));
    if (cli.has("train-per-class")) o.train_per_class = cli.positive("train-per-class", 1);
    if (cli.has("validation-per-class")) o.validation_per_class = cli.positive("validation-per-class", 1);
    if (cli.has("test-per-class")) o.test_per_class = cli.positive("test-per-class", 1);
    if (cli.has("preprocessing")) {
        try {
            const std::string mode = cli.text("preprocessing");
            o.preprocessing = mode == "chapter" ? typenet::Preprocessing::rescale : typenet::parse_preprocessing(mode);
        } catch (const std::exception& e) {
            cli.fail(e.what());
        }
    }
    if (cli.has("backbone")) {
        o.backbone = cli.text("backbone");
        if (std::find(std::begin(backbone_names), std::end(backbone_names), o.backbone) == std::end(backbone_names))
            cli.fail("--backbone takes vgg16, resnet50 or mobilenetv2, got '" + o.backbone + "'");
#if !TYPENET_EXAMPLE_BACKBONES
        if (o.backbone != "vgg16")
            cli.fail("--backbone " + o.backbone + ": this build of the examples leaves ResNet-50 and MobileNetV2 "
                     "out (configure with cmake -DTYPENET_EXAMPLE_BACKBONES=ON)");
#endif
        // --summary and --extract need no images; a run does.
        if (o.backbone != "vgg16" && !cli.has("data") && !cli.has("summary") && !cli.has("extract"))
            cli.fail("--backbone " + o.backbone + " runs on the book's 150x150 RGB images: give --data DIR (the "
                     "default task's 28x28 grey images have the narrow VGG)");
    }
    if (cli.has("fine-tune-from")) o.fine_tune_from = cli.text("fine-tune-from");
    o.augmentation = cli.text("augmentation", "");
    if (!o.augmentation.empty() && o.augmentation != "chapter" && o.augmentation != "mild")
        cli.fail("--augmentation takes 'chapter' or 'mild', got '" + o.augmentation + "'");
    if (cli.has("keras-convention")) {
        try {
            o.keras_convention = typenet::keras_convention_named(cli.text("keras-convention"));
        } catch (const std::exception& e) {
            cli.fail(std::string("--keras-convention: ") + e.what());
        }
    }
    o.pretrain_per_class = cli.positive("pretrain-per-class", 6000);
    o.pretrain_epochs = cli.positive("pretrain-epochs", 2);
    o.quiet = cli.has("quiet");
    o.summary = cli.has("summary");
    o.resume = cli.has("resume");
    return o;
}

}  // namespace examples
