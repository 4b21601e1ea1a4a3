// Model B of the chapter: the CNN with one more conv block and dropout in the head,
// RMSprop lr 1e-3, batch 30, 30 epochs, images in memory.
#include <iostream>

#include "common/cli.hpp"
#include "typenet/typenet.hpp"
#include "typenet/zoo/chapter5.hpp"

namespace tn = typenet;

int main(int argc, char** argv) {
    examples::CommandLine cli(argc, argv,
                              "usage: cnn_regularized [--summary]\n"
                              "  --summary   print the Keras-style model summary and exit\n",
                              {}, {"summary"});
    tn::zoo::RegularizedCNN<150, 150, 3> model;
    if (cli.has("summary")) {
        model.summary();
        return 0;
    }
    cli.fail("training is not wired up yet; use --summary");
}
