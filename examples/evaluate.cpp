// The chapter's evaluation: every saved model (A..F) reloaded from --out and scored on the
// test images: accuracy, weighted precision / recall / F1 (4 places), classification
// report, confusion matrix (Actual rows, Predicted columns, class order 0, 1), ROC and AUC;
// then all models side by side in one table, and every model's prediction for one test
// image (--image: an index or a file name; default the first test image of class 1).
//
//   evaluate --data data --weights vgg16.safetensors --out runs   the book's experiment
//   evaluate --data data --backbone resnet50 --weights resnet50.safetensors --out runs
//        models A-C as above, D-F as trained on that backbone (their files carry its name)
//   evaluate                                                      the embedded default
//
// Writes <out>/<name>.confusion_matrix.png per model, roc_curves.png and single_image.png.
// Model D needs its backbone (--weights, or the default task's <out>/vgg_narrow.safetensors).
// Each model is reloaded with the type its own program trained (the six programs are
// included here for their model types); chapter5.cpp includes this file in turn.
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#ifndef EXAMPLES_NO_MAIN
#define EXAMPLES_NO_MAIN
#define EVALUATE_MAIN
#endif
#include "basic_cnn.cpp"
#include "cnn_augmented.cpp"
#include "cnn_regularized.cpp"
#include "vgg16_augmented.cpp"
#include "vgg16_bottleneck.cpp"
#include "vgg16_finetune.cpp"
#include "common/cli.hpp"
#include "common/evaluation.hpp"
#include "common/options.hpp"
#include "common/program.hpp"
#include "typenet/io/weights.hpp"
#include "typenet/model/summary.hpp"

namespace evaluate {

namespace tn = typenet;
namespace fs = std::filesystem;
using examples::Experiment;
using examples::ModelId;

// Loads a program's saved model and gives its class-1 probabilities on the test images, each
// model fed what it learnt on (the file's "preprocessing" entry).
template <class Model, class Setting>
std::vector<float> reloaded(Experiment<Setting>& exp, const fs::path& file, tn::Preprocessing fallback) {
    auto model = std::make_unique<Model>(tn::no_initialization);
    tn::io::load_weights(*model, file);
    return examples::probabilities(*model, exp.data().test, examples::saved_preprocessing(file, fallback));
}

// Class-1 probabilities of the saved model `id` on the test images; nullopt with a reason
// in `why` when the model (or, for D, the backbone) is not there.
template <class Setting>
std::optional<std::vector<float>> saved_model_probabilities(Experiment<Setting>& exp, ModelId id, std::string& why) {
    const fs::path file = exp.model_file(id);
    if (!fs::is_regular_file(file)) {
        why = file.filename().string() + " not found: run " + std::string(examples::facts(id).program);
        return std::nullopt;
    }
    const tn::Preprocessing rescale = tn::Preprocessing::rescale;
    switch (id) {
        case ModelId::A: return reloaded<basic_cnn::Model<Setting>>(exp, file, rescale);
        case ModelId::B: return reloaded<cnn_regularized::Model<Setting>>(exp, file, rescale);
        case ModelId::C: return reloaded<cnn_augmented::Model<Setting>>(exp, file, rescale);
        case ModelId::D: {  // the head on the backbone's features
            const auto base_file = examples::find_backbone_weights(exp, false);
            if (!base_file) {
                why = "model D needs its backbone: " + examples::missing_backbone_message<Setting>();
                return std::nullopt;
            }
            return vgg16_bottleneck::test_probabilities(exp, file, *base_file);
        }
        case ModelId::E: return vgg16_augmented::test_probabilities(exp, file);
        case ModelId::F: return vgg16_finetune::test_probabilities(exp, file);
    }
    return std::nullopt;
}

template <class Setting>
examples::EvaluationResult evaluate_models(Experiment<Setting>& exp, const std::string& image) {
    return examples::evaluate_models(exp, image, [&](ModelId id, std::string& why) {
        return saved_model_probabilities(exp, id, why);
    });
}

// The six models of a setting with their sizes, as the chapter's summaries give them
// (trainable counts with the chapter's frozen layers).
template <class Setting>
std::string model_table(const std::string& finetune_from) {
    std::string text;
    char line[256];
    std::snprintf(line, sizeof line, "%-5s %-44s %12s %12s  %s\n", "Model", "Approach", "Parameters", "Trainable",
                  "Saved as");
    text += line;
    const examples::Experiment<Setting> exp(examples::ExperimentOptions{}, std::cout);  // the files' names
    auto row = [&](ModelId id, std::size_t total, std::size_t trainable) {
        std::snprintf(line, sizeof line, "%-5c %-44s %12s %12s  %s.safetensors\n", examples::letter(id),
                      std::string(examples::facts(id).title).c_str(), tn::thousands(total).c_str(),
                      tn::thousands(trainable).c_str(), exp.model_name(id).c_str());
        text += line;
    };
    using A = basic_cnn::Model<Setting>;
    using B = cnn_regularized::Model<Setting>;
    using C = cnn_augmented::Model<Setting>;
    using D = vgg16_bottleneck::Head<Setting>;
    row(ModelId::A, A::param_count, A::param_count);
    row(ModelId::B, B::param_count, B::param_count);
    row(ModelId::C, C::param_count, C::param_count);
    row(ModelId::D, Setting::Backbone::param_count + D::param_count, D::param_count);
    auto e = std::make_unique<vgg16_augmented::Model<Setting>>(tn::no_initialization);
    e->template get<Setting::Backbone::name>().set_trainable(false);
    row(ModelId::E, e->param_count, e->trainable_param_count());
    auto f = std::make_unique<vgg16_finetune::Model<Setting>>(tn::no_initialization);
    vgg16_finetune::fine_tune_from<Setting>(*f, finetune_from);
    row(ModelId::F, f->param_count, f->trainable_param_count());
    return text;
}

}  // namespace evaluate

// The other backbones' table is compiled apart with their models (examples/backbones/).
#define EVALUATE_INSTANCES(EXTERN, S) EXTERN template std::string evaluate::model_table<S>(const std::string&);
#if TYPENET_EXAMPLE_BACKBONES
EVALUATE_INSTANCES(extern, examples::ResNet50Setting)
EVALUATE_INSTANCES(extern, examples::MobileNetV2Setting)
#endif

#ifdef EVALUATE_MAIN
int main(int argc, char** argv) {
    auto flags = examples::with_backbone_flags(examples::experiment_flags());
    flags.push_back("image");
    const examples::CommandLine cli(argc, argv,
                                    "usage: evaluate [options]   (all saved models on the test images)\n"
                                    "  --image N|NAME        the test image whose prediction every model shows\n" +
                                        examples::experiment_usage() + examples::backbone_usage() +
                                        "  (--summary here: the six models of the book, their sizes and files)\n",
                                    flags, examples::experiment_switches());
    const auto options = examples::parse_experiment_options(cli);
    if (options.summary) {
        examples::with_book_backbone(options.backbone, [&](auto setting) {
            using S = typename decltype(setting)::type;
            std::cout << evaluate::model_table<S>(std::string(S::finetune_from));
        });
        return 0;
    }
    const std::string image = cli.text("image", "");
    return examples::run_with_backbone(options, "evaluation",
                                       [&](auto& exp) { evaluate::evaluate_models(exp, image); });
}
#endif
