// The chapter's evaluation: every saved model (A..F) reloaded from --out and scored on the
// test images: accuracy, weighted precision / recall / F1 (4 places), classification
// report, confusion matrix (Actual rows, Predicted columns, class order 0, 1), ROC and AUC;
// then all models side by side in one table, and every model's prediction for one test
// image (--image: an index or a file name; default the first test image of class 1).
//
//   evaluate --data data --weights vgg16.safetensors --out runs   the book's experiment
//   evaluate                                                      the embedded default
//
// Writes <out>/<name>.confusion_matrix.png per model, roc_curves.png and single_image.png.
// Model D needs its backbone (--weights, or the default task's <out>/vgg_narrow.safetensors).
#include <iostream>

#include "common/cli.hpp"
#include "common/evaluation.hpp"
#include "common/options.hpp"
#include "common/program.hpp"

int main(int argc, char** argv) {
    auto flags = examples::experiment_flags();
    flags.push_back("image");
    const examples::CommandLine cli(argc, argv,
                                    "usage: evaluate [options]   (all saved models on the test images)\n"
                                    "  --image N|NAME        the test image whose prediction every model shows\n" +
                                        examples::experiment_usage() +
                                        "  (--summary here: the six models of the book, their sizes and files)\n",
                                    flags, examples::experiment_switches());
    const auto options = examples::parse_experiment_options(cli);
    if (options.summary) {
        std::cout << examples::model_table<examples::BookSetting>();
        return 0;
    }
    const std::string image = cli.text("image", "");
    return examples::run_experiment(options, "evaluation", [&](auto& exp) { examples::evaluate_models(exp, image); });
}
