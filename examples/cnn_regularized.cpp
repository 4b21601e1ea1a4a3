// Model B of the chapter: the CNN with one more conv block and dropout in the head,
// RMSprop lr 1e-3, batch 30, 30 epochs, images in memory scaled by 1/255.
//
//   cnn_regularized --summary                 the book's model as Keras prints it
//   cnn_regularized --data data --out runs    the book's experiment (dataset_builder's folders)
//   cnn_regularized                           the embedded default (Fashion-MNIST T-shirt/top vs Shirt)
//
// Writes <out>/<prefix>_basic_cnn.safetensors (the book's cats_dogs_basic_cnn), .history.csv
// and .learning_curves.png.
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
                                    "usage: cnn_regularized [options]   (model B: CNN + dropout)\n" +
                                        examples::experiment_usage(),
                                    examples::experiment_flags(), examples::experiment_switches());
    const auto options = examples::parse_experiment_options(cli);
    if (options.summary) {
        tn::zoo::RegularizedCNN<150, 150, 3> model;
        model.summary();
        return 0;
    }
    return examples::run_experiment(options, "model B", [](auto& exp) {
        using S = typename std::remove_reference_t<decltype(exp)>::setting;
        examples::train_in_memory<S, typename S::CNN>(exp, examples::ModelId::B);
    });
}
