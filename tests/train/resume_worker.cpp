// A small training run that tests/train/test_resume.cpp kills with SIGKILL and starts
// again: a convolution, dropout (random masks), Adam (two slots per weight), shuffled
// batches, and the callbacks that keep state (ModelCheckpoint, EarlyStopping with best
// weights, CSVLogger). Every epoch ends with the training state in <out>/run.training_state
// (tn::BackupAndRestore); started again, the run continues from it. At the end the
// weights go to <out>/final.safetensors.
//
//   resume_worker <out> [epochs]
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <sstream>
#include <string>

#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>

#include "typenet/core/random.hpp"
#include "typenet/io/weights.hpp"
#include "typenet/train/callbacks.hpp"
#include "typenet/train/trainer.hpp"
#include "typenet/typenet.hpp"

namespace tn = typenet;

using Net = tn::Sequential<tn::Input<8, 8, 1>, tn::Conv2D<4, 3, tn::ReLU>, tn::Flatten, tn::Dense<16, tn::ReLU>,
                           tn::Dropout<0.3f>, tn::Dense<1, tn::Sigmoid>>;

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: resume_worker <out> [epochs]\n");
        return 2;
    }
    try {
        const std::filesystem::path out = argv[1];
        const std::size_t epochs = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 40;
        std::filesystem::create_directories(out);

        // 192 images of 8x8: the label is which half is brighter, plus noise.
        constexpr std::size_t count = 192;
        tn::Random rng(11);
        xt::xtensor<float, 4> x = xt::xtensor<float, 4>::from_shape({count, 8, 8, 1});
        xt::xtensor<float, 1> y = xt::xtensor<float, 1>::from_shape({count});
        for (std::size_t i = 0; i < count; ++i) {
            y(i) = static_cast<float>(i % 2);
            for (std::size_t r = 0; r < 8; ++r)
                for (std::size_t c = 0; c < 8; ++c)
                    x(i, r, c, 0) = rng.uniform(-1.0f, 1.0f) + ((r < 4) == (i % 2 == 0) ? 0.4f : 0.0f);
        }
        const auto validation_x = xt::xtensor<float, 4>(xt::view(x, xt::range(0, 48)));
        const auto validation_y = xt::xtensor<float, 1>(xt::view(y, xt::range(0, 48)));
        tn::ArraySource validation(validation_x, validation_y);

        Net model(5);
        auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::Adam{.learning_rate = 3e-3f});
        tn::ModelCheckpoint checkpoint(out / "best.safetensors", {.monitor = "val_loss", .save_best_only = true});
        tn::EarlyStopping stopping({.monitor = "val_loss", .patience = 1000, .restore_best_weights = true});
        tn::CSVLogger csv(out / "history.csv");
        tn::BackupAndRestore backup(out / "run.training_state", {.restore = true, .delete_at_end = false});
        std::ostringstream quiet;
        trainer.fit(x, y, {.epochs = epochs, .batch_size = 16, .validation = &validation, .shuffle = true,
                           .seed = 3, .verbose = 0, .callbacks = {&checkpoint, &stopping, &csv, &backup},
                           .out = &quiet});
        tn::io::save_weights(model, out / "final.safetensors");
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "resume_worker: %s\n", e.what());
        return 1;
    }
}
