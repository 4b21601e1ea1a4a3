// Model A of the chapter: the basic CNN trained from scratch (Conv 16/64/128 + pools,
// Dense 512, Dense 1), RMSprop lr 1e-3, batch 30, 30 epochs, images in memory scaled by 1/255.
//
//   basic_cnn --summary                       the book's model as Keras prints it
//   basic_cnn --data data --out runs          the book's experiment (dataset_builder's folders)
//   basic_cnn                                 the embedded default (Fashion-MNIST T-shirt/top vs Shirt)
//
// Writes <out>/<prefix>_cnn_from_scratch.safetensors (the book does not save model A; it is
// saved here so that `evaluate` scores all six), .history.csv and .learning_curves.png.
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
                                    "usage: basic_cnn [options]   (model A: basic CNN from scratch)\n" +
                                        examples::experiment_usage(),
                                    examples::experiment_flags(), examples::experiment_switches());
    const auto options = examples::parse_experiment_options(cli);
    if (options.summary) {
        tn::zoo::BasicCNN<150, 150, 3> model;
        model.summary();
        return 0;
    }
    return examples::run_experiment(options, "model A", [](auto& exp) {
        using S = typename std::remove_reference_t<decltype(exp)>::setting;
        examples::train_in_memory<S, typename S::BasicCNN>(exp, examples::ModelId::A);
    });
}
