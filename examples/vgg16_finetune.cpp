// Model F of the chapter: as model E, with every layer from block4_conv1 on trainable
// (VGG-16's blocks 4 and 5 fine-tuned with the head), augmented batches, RMSprop lr 1e-5,
// batch 30, validation batch 20, 100 epochs. 19,172,673 parameters, 17,437,185 trainable.
// On the default task the narrow VGG's last block (block3_conv1 on) plays that part.
//
//   vgg16_finetune --summary                                  the book's model as Keras prints it
//   vgg16_finetune --data data --weights vgg16.safetensors    the book's experiment
//   vgg16_finetune                                            the embedded default (narrow VGG)
//
// Writes <out>/<prefix>_tlearn_finetune_img_aug_cnn.safetensors, .history.csv,
// .learning_curves.png and augmentation.png.
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
                                    "usage: vgg16_finetune [options]   (model F: VGG-16 blocks 4-5 fine-tuned + "
                                    "augmentation)\n" + examples::experiment_usage(),
                                    examples::experiment_flags(), examples::experiment_switches());
    const auto options = examples::parse_experiment_options(cli);
    if (options.summary) {
        tn::zoo::VGGTransfer<150, 150> model;
        model.set_trainable_from("block4_conv1");
        model.summary();
        return 0;
    }
    return examples::run_experiment(options, "model F", [](auto& exp) {
        examples::write_augmentation_picture(exp);
        examples::train_transfer(exp, examples::ModelId::F);
    });
}
