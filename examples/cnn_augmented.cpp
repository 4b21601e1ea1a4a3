// Model C of the chapter: model B's network trained on augmented batches (Keras's
// ImageDataGenerator(...).flow on the training images: rotation 50, shifts 0.2, shear 0.2,
// zoom 0.3, horizontal flip, fill 'nearest'), RMSprop lr 1e-4, batch 30, validation batch
// 20, 100 epochs.
//
//   cnn_augmented --summary                   the book's model as Keras prints it
//   cnn_augmented --data data --out runs      the book's experiment (dataset_builder's folders)
//   cnn_augmented                             the embedded default (Fashion-MNIST T-shirt/top vs Shirt)
//
// Writes <out>/<prefix>_cnn_img_aug.safetensors, .history.csv, .learning_curves.png, and
// augmentation.png (five augmented variants of one training image per class).
#include <type_traits>

#include "common/cli.hpp"
#include "common/options.hpp"
#include "common/program.hpp"
#include "common/steps.hpp"
#include "typenet/typenet.hpp"
#include "typenet/zoo/chapter5.hpp"

namespace tn = typenet;

int main(int argc, char** argv) {
    const examples::CommandLine cli(argc, argv,
                                    "usage: cnn_augmented [options]   (model C: CNN + dropout + augmentation)\n" +
                                        examples::experiment_usage(),
                                    examples::experiment_flags(), examples::experiment_switches());
    const auto options = examples::parse_experiment_options(cli);
    if (options.summary) {
        tn::zoo::RegularizedCNN<150, 150, 3> model;
        model.summary();
        return 0;
    }
    return examples::run_experiment(options, "model C", [](auto& exp) {
        examples::train_augmented_cnn(exp);
    });
}
