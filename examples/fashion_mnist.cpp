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
//   mpirun -np 2 fashion_mnist            data-parallel (built with typenet::mpi)
//
// This file is the whole program: copy it into a project of your own with
//   find_package(typenet CONFIG REQUIRED)
//   add_executable(fashion_mnist fashion_mnist.cpp)
//   target_link_libraries(fashion_mnist PRIVATE typenet::typenet typenet::opencv)
// and it builds as it is (tests/install does exactly that).
//
// The network (Keras):
//   Conv2D(32, 3, relu), MaxPooling2D(2), Conv2D(64, 3, relu), MaxPooling2D(2), Flatten,
//   Dense(128, relu), Dropout(0.3), Dense(10, softmax); Adam(1e-3), sparse categorical
//   cross-entropy, batch 64.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <xtensor/xview.hpp>

#include "typenet/backend/conv_algorithm.hpp"
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
#if defined(TYPENET_WITH_MPI)
#include "typenet/distributed/session.hpp"
#endif

namespace tn = typenet;
namespace fs = std::filesystem;

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
        "  --summary           print the model summary and exit\n"
        "  --conv-algorithm A  CPU convolutions: automatic (default), im2col, winograd, winograd_fast or direct\n";
    // --name value, --name=value, or a switch; anything else stops with the usage.
    std::map<std::string, std::string> flags;
    const std::vector<std::string> valued{"data", "out", "epochs", "batch-size", "seed", "threads", "limit",
                                          "conv-algorithm"};
    const std::vector<std::string> switches{"quiet", "summary", "resume"};
    auto fail = [&](const std::string& message) {
        std::cerr << "error: " << message << "\n\n" << usage;
        std::exit(2);
    };
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i], value;
        if (arg == "--help" || arg == "-h") {
            std::cout << usage;
            return 0;
        }
        if (arg.rfind("--", 0) != 0) fail("unexpected argument " + arg);
        if (const auto eq = arg.find('='); eq != std::string::npos) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
        }
        const std::string name = arg.substr(2);
        if (std::find(switches.begin(), switches.end(), name) != switches.end()) {
            flags[name] = "1";
        } else if (std::find(valued.begin(), valued.end(), name) != valued.end()) {
            if (value.empty() && i + 1 >= argc) fail("flag --" + name + " needs a value");
            flags[name] = value.empty() ? argv[++i] : value;
        } else {
            fail("unknown flag " + arg);
        }
    }
    auto has = [&](const std::string& name) { return flags.count(name) != 0; };
    auto integer = [&](const std::string& name, std::size_t fallback, long long least) {
        if (!has(name)) return fallback;
        char* end = nullptr;
        const long long n = std::strtoll(flags[name].c_str(), &end, 10);
        if (end == flags[name].c_str() || *end != '\0' || n < least)
            fail("--" + name + " takes an integer >= " + std::to_string(least));
        return static_cast<std::size_t>(n);
    };
    auto positive = [&](const std::string& name, std::size_t fallback) { return integer(name, fallback, 1); };
    const std::size_t epochs = positive("epochs", 10);
    const std::size_t batch_size = positive("batch-size", 64);
    const auto seed = static_cast<std::uint64_t>(integer("seed", 42, 0));
    const std::size_t limit = positive("limit", std::numeric_limits<std::size_t>::max());
    const fs::path data_dir = has("data") ? fs::path(flags["data"]) : tn::fashion_mnist_dir();
    fs::path out = has("out") ? fs::path(flags["out"]) : fs::path("fashion_mnist_out");
    if (has("conv-algorithm")) {
        try {
            tn::set_conv_algorithm(tn::parse_conv_algorithm(flags["conv-algorithm"], "--conv-algorithm"));
        } catch (const std::exception& e) {
            fail(e.what());
        }
    }

#if defined(TYPENET_WITH_MPI)
    // Under mpirun -np N: data-parallel training, --batch-size is the global batch. Rank 0
    // prints and writes --out; the other ranks write their copies to a scratch folder.
    static tn::distributed::Session session;
    const std::size_t rank = session.rank();
    if (rank != 0) {
        std::freopen("/dev/null", "w", stdout);
        out = fs::temp_directory_path() / ("fashion_mnist-rank" + std::to_string(rank));
    }
    auto abort_all = [&](int code) { session.abort_all(code); };
#else
    const std::size_t rank = 0;
    auto abort_all = [](int) {};
#endif
    if (has("threads")) tn::set_cpu_threads(static_cast<int>(positive("threads", 1)));

    FashionNet model{seed};
    if (has("summary")) {
        model.summary();
        return 0;
    }

    try {
        fs::create_directories(out);
        const tn::FashionMnist data = tn::load_fashion_mnist(data_dir, limit);
        // Keras's validation_split = 0.1: the last 10% of the training images validate.
        const std::size_t total = data.train_images.shape()[0];
        const std::size_t validation_count = std::max<std::size_t>(total / 10, 1);
        const std::size_t train_count = total - validation_count;
        if (train_count == 0) fail("--limit leaves no training images");
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
                                    {.restore = has("resume"), .delete_at_end = false});
        const tn::History history = trainer.fit(train, {.epochs = epochs,
                                                        .batch_size = batch_size,
                                                        .validation = &validation,
                                                        .validation_batch_size = 500,
                                                        .verbose = has("quiet") ? 2 : 1,
                                                        .callbacks = {&checkpoint, &csv, &backup}});

        // Under mpirun the callbacks (the checkpoint) ran on rank 0, which evaluates and reports.
        if (rank != 0) return 0;
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
        abort_all(1);  // under mpirun: the other ranks stop too
        return 1;
    }
    return 0;
}
