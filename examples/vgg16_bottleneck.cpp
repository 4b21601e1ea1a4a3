// Model D of the chapter: a frozen VGG-16 base turns every image into 8,192 bottleneck
// features; a dense head (Dense 512, Dropout .3, Dense 512, Dropout .3, Dense 1) is
// trained on them with RMSprop lr 1e-4, batch 30, 30 epochs.
#include <iostream>

#include "common/cli.hpp"
#include "typenet/typenet.hpp"
#include "typenet/zoo/chapter5.hpp"
#include "typenet/zoo/vgg.hpp"

namespace tn = typenet;

int main(int argc, char** argv) {
    examples::CommandLine cli(argc, argv,
                              "usage: vgg16_bottleneck [--summary]\n"
                              "  --summary   print the VGG-16 base and head summaries and exit\n",
                              {}, {"summary"});
    if (cli.has("summary")) {
        tn::zoo::VGG16Base<150, 150> base;
        base.set_trainable(false);
        base.summary();
        tn::zoo::BottleneckHead<8192> head;
        head.summary();
        return 0;
    }
    cli.fail("training is not wired up yet; use --summary");
}
