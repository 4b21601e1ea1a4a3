// Model D of the chapter: a frozen VGG-16 base turns every image into 8,192 bottleneck
// features (block5_pool, 4x4x512, flattened); a dense head (Dense 512, Dropout .3,
// Dense 512, Dropout .3, Dense 1) is trained on them with RMSprop lr 1e-4, batch 30, 30 epochs.
//
//   vgg16_bottleneck --summary                                  base and head as Keras prints them
//   vgg16_bottleneck --data data --weights vgg16.safetensors    the book's experiment
//   vgg16_bottleneck                                            the embedded default (narrow VGG)
//   vgg16_bottleneck --weights vgg16.safetensors --extract DIR OUT.npy
//        the (N, 8192) features of every image in DIR, in file-name order, at 150x150
//        (chapter preprocessing unless --preprocessing caffe); nothing is trained
//
// Writes <out>/<prefix>_tlearn_basic_cnn.safetensors (the head), .history.csv,
// .learning_curves.png, bottleneck_features_{train,validation}.npy and feature_map.png.
#include <filesystem>
#include <type_traits>

#include "common/cli.hpp"
#include "common/options.hpp"
#include "common/program.hpp"
#include "common/steps.hpp"
#include "typenet/typenet.hpp"
#include "typenet/zoo/chapter5.hpp"
#include "typenet/zoo/vgg.hpp"

namespace tn = typenet;

int main(int argc, char** argv) {
    auto flags = examples::experiment_flags();
    flags.push_back("extract");
    const examples::CommandLine cli(
        argc, argv,
        "usage: vgg16_bottleneck [options]   (model D: frozen VGG-16 features + dense head)\n"
        "       vgg16_bottleneck --weights FILE --extract DIR OUT.npy [--preprocessing chapter|caffe]\n"
        "  --extract DIR OUT.npy  write the (N, 8192) VGG-16 block5_pool features of every image in DIR\n"
        "                         (file-name order, 150x150 RGB) to OUT.npy and exit; needs --weights\n" +
            examples::experiment_usage(),
        flags, examples::experiment_switches());
    auto options = examples::parse_experiment_options(cli);
    if (options.summary) {
        tn::zoo::VGG16Base<150, 150> base;
        base.set_trainable(false);
        base.summary();
        tn::zoo::BottleneckHead<8192> head;
        head.summary();
        return 0;
    }
    if (cli.has("extract")) {
        if (cli.positional().size() != 1) cli.fail("--extract DIR OUT.npy: give the output file after the folder");
        const std::filesystem::path folder = cli.text("extract"), npy = cli.positional()[0];
        return examples::run_in<examples::BookSetting>(options, "bottleneck features", [&](auto& exp) {
            examples::extract_features(exp, folder, npy);
        });
    }
    if (!cli.positional().empty()) cli.fail("unexpected argument " + cli.positional()[0]);
    return examples::run_experiment(options, "model D", [](auto& exp) { examples::train_bottleneck(exp); });
}
