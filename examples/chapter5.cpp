// chapter5: the main job. Runs the whole chapter in order, in one process, with the same
// code the single programs run (it includes them: basic_cnn.cpp ... vgg16_finetune.cpp and
// evaluate.cpp, each with its model, compile, fit and save), and writes <out>/report.md: every
// model's test metrics, which approach won and by how much, the wall time and images/s of
// each step, and links to every picture.
//
//   chapter5
//       The embedded default, on data every machine here has (Fashion-MNIST): a narrow VGG
//       is pretrained on 8 classes (the "ImageNet" of this setting) and saved; the target
//       task is T-shirt/top vs Shirt, 1500 / 500 / 500 per class like the chapter; models
//       A-F run with epochs scaled for a CPU, `evaluate` compares them, and a data-efficiency
//       table (B against F at 100, 300 and 1500 training images per class) follows.
//       Not the cats-vs-dogs experiment, and the report says so.
//   chapter5 --data train/ --weights vgg16.safetensors --out runs
//       The book's experiment at 150x150: --data is the Kaggle train/ folder (the dataset
//       builder splits it into <out>/data first) or a folder the builder made already.
//   chapter5 --data train/ --backbone resnet50 --weights resnet50.safetensors --out runs_resnet50
//       The same with models D, E and F on ResNet-50 (or mobilenetv2), F fine-tuned from the
//       first layer of its last stage (--fine-tune-from LAYER to choose); a frozen BatchNormalization
//       runs in inference mode (TF2's rule, not the book's Keras 2.1's).
//
// Steps: [dataset builder] -> [backbone pretraining] -> A -> B -> C -> D -> E -> F ->
// evaluation -> [data efficiency] -> report.md
#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <type_traits>
#include <vector>

#define EXAMPLES_NO_MAIN  // the programs below give their training functions, not their main()
#include "evaluate.cpp"     // and, through it, basic_cnn.cpp ... vgg16_finetune.cpp
#include "chapter5/backbone.hpp"
#include "chapter5/dataset_builder.hpp"
#include "chapter5/efficiency.hpp"
#include "common/cli.hpp"
#include "common/evaluation.hpp"
#include "common/experiment.hpp"
#include "common/options.hpp"
#include "common/program.hpp"
#include "common/report.hpp"
#include "typenet/backend/cpu/parallel.hpp"

namespace tn = typenet;
namespace fs = std::filesystem;
using namespace examples;

namespace {

// The setup section of the report.
template <class Setting>
std::vector<std::string> setup_lines(Experiment<Setting>& exp, const fs::path& backbone) {
    const ImageSplits& data = exp.data();
    std::vector<std::string> lines;
    lines.push_back("Data: " + data.source + "; train " + std::to_string(data.train.size()) + ", validation " +
                    std::to_string(data.validation.size()) + ", test " + std::to_string(data.test.size()) +
                    " images; class 0 = " + data.classes[0] + ", class 1 = " + data.classes[1] + ".");
    lines.push_back("Images: " + std::to_string(Setting::height) + "x" + std::to_string(Setting::width) + " " +
                    (Setting::channels == 3 ? "RGB" : "grey") +
                    "; models A-C see pixels scaled by 1/255, as the chapter.");
    // The file's name alone when it sits beside the report.
    const fs::path shown = backbone.parent_path() == exp.out() ? backbone.filename() : backbone;
    lines.push_back("Backbone (models D, E, F): " + std::string(Setting::backbone_title) + ", weights `" +
                    shown.string() + "`; fine-tuning (F) from `" + exp.finetune_from() + "` on.");
    if constexpr (std::is_same_v<Setting, FashionSetting>) {
        const auto pretraining = read_training_summary(exp.out() / "vgg_narrow_pretraining.history.csv");
        const std::size_t per_class = std::min<std::size_t>(exp.options().pretrain_per_class, 6000);
        std::string line = "Backbone pretraining: the 8 classes other than T-shirt/top and Shirt, " +
                           (per_class == 6000 ? std::string("all 6000") : std::to_string(per_class)) +
                           " images per class of the training file, Adam 1e-3, batch 32, " +
                           count_of(exp.options().pretrain_epochs, "epoch") + ", then the classifier is "
                           "dropped and the convolutional base saved";
        if (pretraining)
            line += "; its accuracy on " + std::to_string(8 * std::min<std::size_t>(250, per_class)) +
                    " test-file images of those classes: " + fixed4(pretraining->val_accuracy);
        lines.push_back(line + " (the backbone never sees the target classes).");
    }
    lines.push_back("Backbone preprocessing: " + tn::describe(exp.preprocessing()) + ".");
    lines.push_back("Augmentation (C, E, F), Keras ImageDataGenerator semantics: " + exp.augmentation_text() + ".");
    std::string plans = "Training (binary cross-entropy, RMSprop, as the chapter): ";
    for (ModelId id : all_models) {
        const TrainingPlan p = exp.plan(id);
        char text[160];
        std::snprintf(text, sizeof text, "%c: lr %.2g, batch %zu, %s (book: lr %g, %zu epochs)%s", letter(id),
                      static_cast<double>(p.learning_rate), p.batch_size, count_of(p.epochs, "epoch").c_str(),
                      facts(id).learning_rate,
                      BookSetting::epochs[index_of(id)], id == ModelId::F ? "." : "; ");
        plans += text;
    }
    lines.push_back(plans);
    if constexpr (std::is_same_v<Setting, FashionSetting>)
        lines.push_back("Learning rates: with fewer epochs than the book, each model's rate is the book's times "
                        "(book epochs / epochs), at most 1e-3, so that a run moves its weights about as far as the "
                        "book's (RMSprop moves a weight by about the rate per update).");
    lines.push_back("Weights as saved: the final epoch's (the book saves the model after its last epoch).");
    lines.push_back("Machine: " + std::to_string(tn::cpu_threads()) + " CPU threads, typenet's CPU backend "
                    "(OpenBLAS); run on " + detail::today() + ".");
    return lines;
}

template <class Setting>
std::vector<Picture> pictures(Experiment<Setting>& exp, const EvaluationResult& evaluation) {
    std::vector<Picture> list;
    auto add = [&](const std::string& caption, const fs::path& file) {
        if (fs::is_regular_file(file)) list.push_back({caption, file});
    };
    add("Image augmentation: five augmented variants of one training image per class", exp.out() / "augmentation.png");
    if constexpr (std::is_same_v<Setting, FashionSetting>)
        add("Backbone pretraining on the 8 other classes: learning curves",
            exp.out() / "vgg_narrow_pretraining.learning_curves.png");
    for (ModelId id : all_models)
        add("Model " + std::string(1, letter(id)) + " (" + std::string(facts(id).title) + "): learning curves",
            exp.curves_file(id));
    add("One image's backbone output (bottleneck features) as a feature map", exp.out() / "feature_map.png");
    add("ROC curves of all models on the test set", evaluation.roc_png);
    for (const auto& s : evaluation.scores)
        add("Model " + std::string(1, letter(s.id)) + ": confusion matrix on the test set", s.confusion_png);
    add("The test image of the single-image prediction", evaluation.image_png);
    return list;
}

template <class Setting>
void run_chapter(Experiment<Setting>& exp, const std::vector<std::size_t>& efficiency_sizes, const std::string& image,
                 const Stopwatch& total, const std::vector<StepRecord>& earlier_steps) {
    for (const auto& step : earlier_steps) exp.record(step);
    vgg16_finetune::check_fine_tune_from<Setting>(exp.finetune_from());  // a wrong layer stops here, not after E
    exp.data();
    // The backbone first: the default task pretrains it (the chapter downloads VGG-16 here);
    // the book's must be given, and a missing file should stop the run before hours of training.
    fs::path backbone;
    if constexpr (std::is_same_v<Setting, FashionSetting>) {
        backbone = exp.options().weights ? backbone_weights(exp) : pretrain_backbone(exp, exp.default_backbone_file());
    } else {
        backbone = backbone_weights(exp);
    }
    exp.log() << "[" << format_seconds(total.seconds()) << "] backbone ready; training models A-F" << std::endl;
    basic_cnn::train(exp);
    exp.log() << "[" << format_seconds(total.seconds()) << "] model A done" << std::endl;
    cnn_regularized::train(exp);
    exp.log() << "[" << format_seconds(total.seconds()) << "] model B done" << std::endl;
    cnn_augmented::train(exp);
    exp.log() << "[" << format_seconds(total.seconds()) << "] model C done" << std::endl;
    vgg16_bottleneck::train(exp);
    exp.log() << "[" << format_seconds(total.seconds()) << "] model D done" << std::endl;
    vgg16_augmented::train(exp);
    exp.log() << "[" << format_seconds(total.seconds()) << "] model E done" << std::endl;
    vgg16_finetune::train(exp);
    exp.log() << "[" << format_seconds(total.seconds()) << "] model F done" << std::endl;
    const EvaluationResult evaluation = evaluate::evaluate_models(exp, image);
    exp.log() << "[" << format_seconds(total.seconds()) << "] evaluation done" << std::endl;
    std::vector<EfficiencyRow> efficiency;
    if constexpr (Setting::backbone_flag == "vgg16")  // the others' F is compiled apart, without this table
        efficiency = data_efficiency(exp, efficiency_sizes, evaluation);
    if (!efficiency.empty()) {
        exp.log() << "\nData efficiency (test accuracy):\n  per class      B (scratch)   F (fine-tuned)\n";
        for (const auto& r : efficiency) {
            char line[120];
            std::snprintf(line, sizeof line, "  %9zu      %.4f        %.4f\n", r.per_class, r.scratch_accuracy,
                          r.finetuned_accuracy);
            exp.log() << line;
        }
    }

    ReportInput report;
    report.classes = exp.data().classes;
    if constexpr (std::is_same_v<Setting, FashionSetting>) {
        report.title = "Chapter 5 replayed on Fashion-MNIST: transfer learning for T-shirt/top vs Shirt";
        report.disclaimer =
            "> **This is not the cats-vs-dogs experiment.** It is typenet's embedded default, which runs on data "
            "every machine here has: Fashion-MNIST (Debian package `dataset-fashion-mnist`). The chapter's story is "
            "replayed at that scale: a small VGG-style backbone is first trained on 8 of the 10 classes (the "
            "\"ImageNet\" of this setting), then the chapter's six models learn the 2 held-out classes, T-shirt/top "
            "vs Shirt, split 1500 / 500 / 500 per class like the chapter, with epochs scaled for a CPU. The book's "
            "own experiment runs with `chapter5 --data <Kaggle train/> --weights vgg16.safetensors`.";
    } else {
        report.title = "Chapter 5: transfer learning for cats vs dogs (Kaggle, " + std::string(Setting::backbone_short) +
                       ")";
        report.disclaimer =
            "> The book's experiment: the Kaggle Dogs vs. Cats images split 1500 / 500 / 500 per class, 150x150 "
            "RGB, VGG-16 with ImageNet weights. The book reports about 78% test accuracy for the basic CNN and "
            "about 96% for the fine-tuned model (Keras 2, GPU).";
        if constexpr (Setting::backbone_flag != "vgg16")
            report.disclaimer += " Here models D, E and F stand on " + std::string(Setting::backbone_title) +
                                 " instead (--backbone " + std::string(Setting::backbone_flag) +
                                 "); a frozen BatchNormalization runs in inference mode (TensorFlow 2's rule; the "
                                 "book's Keras 2.1 normalised with each batch's statistics even when frozen).";
    }
    report.setup = setup_lines(exp, backbone);
    report.evaluation = evaluation;
    report.efficiency = efficiency;
    report.pictures = pictures(exp, evaluation);
    report.steps = exp.steps();
    report.total_seconds = total.seconds();
    const fs::path path = exp.out() / "report.md";
    write_report(path, report);
    exp.log() << "\n" << verdict(evaluation) << "\nWrote " << path.string() << " (" << report.pictures.size()
              << " pictures) after " << format_seconds(total.seconds()) << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
    auto flags = with_backbone_flags(experiment_flags(), true);
    flags.push_back("efficiency-sizes");
    flags.push_back("image");
    const CommandLine cli(
        argc, argv,
        "usage: chapter5 [options]   (the whole chapter in order, then <out>/report.md)\n"
        "  chapter5                 the embedded default: Fashion-MNIST T-shirt/top vs Shirt (minutes on a CPU)\n"
        "  chapter5 --data train/ --weights vgg16.safetensors\n"
        "                           the book's experiment: the Kaggle train/ folder (split into <out>/data by\n"
        "                           the dataset builder) or dataset_builder's output, VGG-16 from typenet-convert\n"
        "  --efficiency-sizes LIST  training images per class for the data-efficiency table (B vs F);\n"
        "                           default 100,300,1500 for the default task, none for --data; 'none' skips it\n"
        "  --image N|NAME           the test image of the single-image prediction\n"
        "  (--epochs, --batch-size, --lr override every model's value here)\n" +
            experiment_usage() + backbone_usage(true),
        flags, experiment_switches());
    ExperimentOptions options = parse_experiment_options(cli);
    if (options.summary) {
        try {
            with_book_backbone(options.backbone, [&](auto setting) {
                using S = typename decltype(setting)::type;
                std::cout << evaluate::model_table<S>(options.fine_tune_from.value_or(std::string(S::finetune_from)));
            });
        } catch (const std::exception& e) {
            std::cerr << "error: " << e.what() << std::endl;
            return 1;
        }
        return 0;
    }
    const Stopwatch total;
    std::vector<StepRecord> earlier;
    const std::string image = cli.text("image", "");
    try {
        if (options.book()) {
            // A Kaggle folder is split first (into <out>/data); a split folder is used as it is.
            const fs::path given = *options.data;
            if (!fs::is_directory(given / "training_data")) {
                const Stopwatch clock;
                std::cout << "\n==== Dataset builder: " << given.string() << " -> " << (options.out / "data").string()
                          << " ====" << std::endl;
                chapter5::DatasetBuilderOptions builder;
                builder.source = given;
                builder.out = options.out / "data";
                builder.seed = options.seed;
                builder.train = options.train_per_class.value_or(1500);
                builder.validation = options.validation_per_class.value_or(500);
                builder.test = options.test_per_class.value_or(500);
                builder.overwrite = true;  // our own folder from an earlier run
                const auto built = chapter5::build_dataset(builder);
                std::cout << chapter5::format_split_counts(built.plan);
                earlier.push_back({"Dataset builder", clock.seconds(), built.plan.entries.size(), 0.0,
                                   std::to_string(built.plan.entries.size()) + " files linked or copied"});
                options.data = builder.out;
            }
        }
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << std::endl;
        distributed().abort_all(1);
        return 1;
    }
    const std::vector<std::size_t> sizes =
        cli.count_list("efficiency-sizes", options.book() ? std::vector<std::size_t>{}
                                                          : std::vector<std::size_t>{100, 300, 1500});
    if (!sizes.empty() && options.backbone != "vgg16")
        cli.fail("--efficiency-sizes: the data-efficiency table runs on VGG-16 (the book's backbone) only");
    return run_with_backbone(options, "the whole chapter", [&](auto& exp) {
        run_chapter(exp, sizes, image, total, earlier);
    });
}
