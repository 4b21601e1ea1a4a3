// benchmarks/compile_time/chapter_model.cpp
// What benchmarks/compile_time/run compiles: a user's translation unit that defines and
// trains one chapter model, model A (Conv 16/64/128 + pools, Dense 512, Dense 1 sigmoid at
// 150x150x3), through the umbrella header only, the way the README shows it: fit with a
// validation set, evaluate, predict, save the weights. Random data stands in for images
// (compile time does not depend on it); run it with a number of images to train on:
//
//   chapter_model [images=60]
#include <cstddef>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <typenet/typenet.hpp>

namespace tn = typenet;

using ModelA = tn::Sequential<tn::Input<150, 150, 3>,                              //
                              tn::Conv2D<16, 3, tn::ReLU>, tn::MaxPooling2D<2>,   //
                              tn::Conv2D<64, 3, tn::ReLU>, tn::MaxPooling2D<2>,   //
                              tn::Conv2D<128, 3, tn::ReLU>, tn::MaxPooling2D<2>,  //
                              tn::Flatten, tn::Dense<512, tn::ReLU>, tn::Dense<1, tn::Sigmoid>>;

namespace {
tn::ArraySource random_images(std::size_t count, unsigned seed) {
    constexpr std::size_t pixels = 150 * 150 * 3;
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
    std::vector<float> x(count * pixels), y(count);
    for (auto& v : x) v = pixel(rng);
    for (auto& v : y) v = static_cast<float>(rng() % 2);
    return tn::ArraySource(std::move(x), std::move(y), pixels, 1, true, seed);
}
}  // namespace

int main(int argc, char** argv) {
    const std::size_t images = argc > 1 ? std::stoul(argv[1]) : 60;
    ModelA model{42};
    model.summary();
    tn::ArraySource train = random_images(images, 1);
    tn::ArraySource validation = random_images(images / 2 + 1, 2);
    auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::RMSprop{.learning_rate = 1e-3f});
    trainer.fit(train, {.epochs = 1, .batch_size = 30, .validation = &validation, .verbose = 2});
    const tn::Evaluation score = trainer.evaluate(validation, 30);
    const auto probabilities = tn::predict(model, validation, 30);
    tn::io::save_weights(model, "chapter_model.safetensors");
    std::printf("validation loss %.4f, accuracy %.4f, first probability %.4f\n", score.loss, score.accuracy,
                static_cast<double>(probabilities(0, 0)));
    return 0;
}
