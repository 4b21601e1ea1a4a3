// Model E of the chapter: the frozen VGG-16 base inside the model, then Flatten and the
// dense head, trained on augmented batches with RMSprop lr 2e-5, batch 30, validation
// batch 20, 100 epochs. 19,172,673 parameters, 4,457,985 trainable.
//
//   vgg16_augmented --summary                                  the book's model as Keras prints it
//   vgg16_augmented --data data --weights vgg16.safetensors    the book's experiment
//   vgg16_augmented                                            the embedded default (narrow VGG)
//
// Writes <out>/<prefix>_tlearn_img_aug_cnn.safetensors, .history.csv, .learning_curves.png
// and augmentation.png.
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
                                    "usage: vgg16_augmented [options]   (model E: frozen VGG-16 + augmentation)\n" +
                                        examples::experiment_usage(),
                                    examples::experiment_flags(), examples::experiment_switches());
    const auto options = examples::parse_experiment_options(cli);
    if (options.summary) {
        tn::zoo::VGGTransfer<150, 150> model;
        model.get<"vgg16">().set_trainable(false);
        model.summary();
        return 0;
    }
    return examples::run_experiment(options, "model E", [](auto& exp) {
        examples::write_augmentation_picture(exp);
        examples::train_transfer(exp, examples::ModelId::E);
    });
}
