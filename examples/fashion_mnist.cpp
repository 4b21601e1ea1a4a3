// examples/fashion_mnist.cpp
// A small CNN on all ten Fashion-MNIST classes, end to end: the IDX files of the Debian
// package dataset-fashion-mnist, a Keras-style fit with a validation split, the best
// epoch's weights kept by ModelCheckpoint, the chapter's evaluation block (precision,
// recall, F1, classification report, confusion matrix) on the 10,000 test images, the
// learning curves and the confusion matrix as PNG, the history as CSV, and the training
// throughput for later comparisons. With no arguments (10 epochs, a few minutes on two
// cores) it reaches about 91% test accuracy.
//
//   fashion_mnist                         the documented run (see README)
//   fashion_mnist --limit 3000 --epochs 1 a quick check
//
// The network (Keras):
//   Conv2D(32, 3, relu), MaxPooling2D(2), Conv2D(64, 3, relu), MaxPooling2D(2), Flatten,
//   Dense(128, relu), Dropout(0.3), Dense(10, softmax); Adam(1e-3), sparse categorical
//   cross-entropy, batch 64.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include <xtensor/xview.hpp>

#include "common/cli.hpp"
#include "typenet/backend/cpu/parallel.hpp"
#include "typenet/data/idx.hpp"
#include "typenet/io/weights.hpp"
#include "typenet/metrics/confusion_matrix.hpp"
#include "typenet/metrics/performance.hpp"
#include "typenet/plot/confusion_matrix.hpp"
#include "typenet/plot/learning_curves.hpp"
#include "typenet/train/predict.hpp"
#include "typenet/train/trainer.hpp"
#include "typenet/typenet.hpp"

namespace tn = typenet;

using FashionNet = tn::Sequential<tn::Input<28, 28, 1>, tn::Conv2D<32, 3, tn::ReLU>, tn::MaxPooling2D<2>,
                                  tn::Conv2D<64, 3, tn::ReLU>, tn::MaxPooling2D<2>, tn::Flatten,
                                  tn::Dense<128, tn::ReLU>, tn::Dropout<0.3f>, tn::Dense<10, tn::Softmax>>;

int main(int argc, char** argv) {
    const std::string usage =
        "usage: fashion_mnist [options]\n"
        "  --data DIR          the IDX files (default $TYPENET_FASHION_MNIST or /usr/share/datasets/fashion-mnist)\n"
        "  --out DIR           history.csv, learning_curves.png, confusion_matrix.png,\n"
        "                      fashion_mnist.safetensors (default fashion_mnist_out)\n"
        "  --epochs N          default 10\n"
        "  --batch-size N      default 64\n"
        "  --seed N            weights and shuffling (default 42)\n"
        "  --threads N         CPU threads (default: all)\n"
        "  --limit N           train on the first N training images only (the last 10% of them validate)\n"
        "  --quiet             one line per epoch, no progress bar\n"
        "  --resume            continue a killed run from <out>/fashion_mnist.training_state (written after\n"
        "                      every epoch); same other flags, same weights as an uninterrupted run\n"
        "  --summary           print the model summary and exit\n";
    const examples::CommandLine cli(argc, argv, usage,
                                    {"data", "out", "epochs", "batch-size", "seed", "threads", "limit"},
                                    {"quiet", "summary", "resume"});
    auto positive = [&](const char* name, long long fallback) {
        const long long n = cli.integer(name, fallback);
        if (n < 1) cli.fail(std::string("--") + name + " must be at least 1");
        return static_cast<std::size_t>(n);
    };
    const std::size_t epochs = positive("epochs", 10);
    const std::size_t batch_size = positive("batch-size", 64);
    const auto seed = static_cast<std::uint64_t>(cli.integer("seed", 42));
    const std::size_t limit = cli.has("limit") ? positive("limit", 0) : std::numeric_limits<std::size_t>::max();
    if (cli.has("threads")) tn::set_cpu_threads(static_cast<int>(positive("threads", 1)));
    const std::filesystem::path data_dir = cli.has("data") ? std::filesystem::path(cli.text("data")) : tn::fashion_mnist_dir();
    const std::filesystem::path out = examples::distributed().output(cli.text("out", "fashion_mnist_out"));

    FashionNet model{seed};
    if (cli.has("summary")) {
        model.summary();
        return 0;
    }

    try {
        std::filesystem::create_directories(out);
        const tn::FashionMnist data = tn::load_fashion_mnist(data_dir, limit);
        // Keras's validation_split = 0.1: the last 10% of the training images validate.
        const std::size_t total = data.train_images.shape()[0];
        const std::size_t validation_count = std::max<std::size_t>(total / 10, 1);
        const std::size_t train_count = total - validation_count;
        if (train_count == 0) cli.fail("--limit leaves no training images");
        tn::ArraySource train(xt::view(data.train_images, xt::range(0, train_count)),
                              xt::view(data.train_labels, xt::range(0, train_count)), true, seed);
        tn::ArraySource validation(xt::view(data.train_images, xt::range(train_count, total)),
                                   xt::view(data.train_labels, xt::range(train_count, total)));
        std::cout << "Fashion-MNIST from " << data_dir.string() << ": " << train_count << " training, "
                  << validation_count << " validation, " << data.test_images.shape()[0] << " test images; "
                  << tn::cpu_threads() << " CPU threads\n";
        model.summary();

        auto trainer = tn::compile(model, tn::SparseCategoricalCrossentropy{}, tn::Adam{.learning_rate = 1e-3f});
        tn::ModelCheckpoint checkpoint(out / "fashion_mnist.safetensors",
                                       {.monitor = "val_accuracy", .save_best_only = true});
        tn::CSVLogger csv(out / "history.csv");
        tn::BackupAndRestore backup(out / "fashion_mnist.training_state",
                                    {.restore = cli.has("resume"), .delete_at_end = false});
        const tn::History history = trainer.fit(train, {.epochs = epochs,
                                                        .batch_size = batch_size,
                                                        .validation = &validation,
                                                        .validation_batch_size = 500,
                                                        .verbose = cli.has("quiet") ? 2 : 1,
                                                        .callbacks = {&checkpoint, &csv, &backup}});

        // Under mpirun the callbacks (the checkpoint) ran on rank 0, which evaluates and reports.
        if (examples::distributed().rank() != 0) return 0;
        // The best epoch's weights (by val_accuracy) are the ones we evaluate and keep.
        tn::io::load_weights(model, checkpoint.filepath());
        std::cout << "\nBest epoch " << *checkpoint.last_saved_epoch() + 1 << " (val_accuracy "
                  << checkpoint.best() << "), weights in " << checkpoint.filepath().string() << "\n\n";

        const std::vector<int> predicted = tn::predict_classes(model, data.test_images, 500);
        const std::vector<int> actual(data.test_labels.begin(), data.test_labels.end());
        std::vector<int> labels;
        std::vector<std::string> names;
        for (std::size_t c = 0; c < tn::fashion_mnist_classes.size(); ++c) {
            labels.push_back(static_cast<int>(c));
            names.emplace_back(tn::fashion_mnist_classes[c]);
        }
        std::cout << tn::model_performance_report(actual, predicted, labels, names) << '\n';

        tn::HistoryColumns columns;
        for (std::size_t e = 0; e < history.epochs(); ++e) columns.epochs.push_back(static_cast<int>(e + 1));
        columns.series = {{"accuracy", history.accuracy}, {"val_accuracy", history.val_accuracy},
                          {"loss", history.loss}, {"val_loss", history.val_loss}};
        tn::plot_learning_curves(columns, out / "learning_curves.png", "Fashion-MNIST CNN");
        tn::plot_confusion_matrix(tn::confusion_matrix(actual, predicted, labels, names), out / "confusion_matrix.png",
                                  "Fashion-MNIST test set");
        std::cout << "Wrote " << (out / "history.csv").string() << ", " << (out / "learning_curves.png").string()
                  << ", " << (out / "confusion_matrix.png").string() << "\n";

        std::size_t hits = 0;
        for (std::size_t i = 0; i < actual.size(); ++i) hits += actual[i] == predicted[i] ? 1 : 0;
        std::printf("test accuracy: %.4f\n", static_cast<double>(hits) / static_cast<double>(actual.size()));
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << '\n';
        examples::distributed().abort_all(1);  // under mpirun: the other ranks stop too
        return 1;
    }
    return 0;
}
