// benchmarks/compile_time/resnet50_model.cpp
// What benchmarks/compile_time/run compiles: a user's translation unit that fine-tunes a
// ResNet-50 (Keras's ResNet50(include_top=False) as tn::zoo::ResNet50Base) under a small
// head, the way docs/models.md shows it: the last stage trainable (its BatchNormalizations
// in training mode, the frozen ones in inference mode), fit, evaluate, predict, save. The
// input is 64x64 so that --check runs in seconds; compile time does not depend on the size.
//
//   resnet50_model [images=16]
#include <cstddef>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <typenet/typenet.hpp>
#include <typenet/zoo/resnet.hpp>

namespace tn = typenet;

using Transfer = tn::Sequential<tn::Input<64, 64, 3>, tn::zoo::ResNet50Base<64, 64>, tn::GlobalAveragePooling2D<>,
                                tn::Dense<256, tn::ReLU>, tn::Dropout<0.5f>, tn::Dense<1, tn::Sigmoid>>;

namespace {
tn::ArraySource random_images(std::size_t count, unsigned seed) {
    constexpr std::size_t pixels = 64 * 64 * 3;
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> pixel(-120.0f, 150.0f);  // caffe-preprocessed range
    std::vector<float> x(count * pixels), y(count);
    for (auto& v : x) v = pixel(rng);
    for (auto& v : y) v = static_cast<float>(rng() % 2);
    return tn::ArraySource(std::move(x), std::move(y), pixels, 1, true, seed);
}
}  // namespace

int main(int argc, char** argv) {
    const std::size_t images = argc > 1 ? std::stoul(argv[1]) : 16;
    Transfer model{42};
    model.set_trainable_from("conv5_block1_1_conv");
    model.summary();
    tn::ArraySource train = random_images(images, 1);
    tn::ArraySource validation = random_images(images / 2 + 1, 2);
    auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::SGD{.learning_rate = 1e-4f, .momentum = 0.9f});
    trainer.fit(train, {.epochs = 1, .batch_size = 8, .validation = &validation, .verbose = 2});
    const tn::Evaluation score = trainer.evaluate(validation, 8);
    const auto probabilities = tn::predict(model, validation, 8);
    tn::io::save_weights(model, "resnet50_model.safetensors");
    std::printf("validation loss %.4f, accuracy %.4f, first probability %.4f\n", score.loss, score.accuracy,
                static_cast<double>(probabilities(0, 0)));
    return 0;
}
