// tests/cuda/test_cuda_models.cu
// Layers and models on the GPU against the CPU: every layer's forward and backward,
// full training steps of the chapter's models (against cpu_im2col, see common.hpp), the
// trainer's fit/evaluate/predict, allocation-free steps, and weights saved on the GPU and
// loaded on the CPU.
#include <typenet/zoo/mobilenet.hpp>
#include <typenet/zoo/resnet.hpp>

#include "chapter5/models.hpp"  // examples/: the book's models
#include "common.hpp"
#include "compare_training.hpp"

namespace {

template <class Spec, class In>
void compare_layer(const std::string& what, std::size_t batch) {
    using CpuLayer = typename Spec::template bind<In, tn::cpu, "layer_under_test">;
    using GpuLayer = typename Spec::template bind<In, tn::cuda, "layer_under_test">;
    using Out = typename CpuLayer::output_shape;
    CpuLayer cpu;
    GpuLayer gpu;
    tn::Random rng_cpu(5), rng_gpu(5);
    cpu.initialize(rng_cpu);
    gpu.initialize(rng_gpu);
    // Non-zero biases, so that forward sees them.
    for (std::size_t i = 0; i < cpu.parameters().size(); ++i) {
        const auto values = random_vector(cpu.parameters()[i].size(), 200 + i, -0.5f, 0.5f);
        cpu.parameters()[i].set_values(values);
        gpu.parameters()[i].set_values(values);
    }
    const auto x = random_vector(batch * In::size, 210);
    const auto dy = random_vector(batch * Out::size, 211);
    std::vector<float> y_cpu(batch * Out::size), dx_cpu(batch * In::size);
    cpu.forward(x.data(), y_cpu.data(), batch, tn::Mode::train);
    cpu.backward(x.data(), y_cpu.data(), dy.data(), dx_cpu.data(), batch, false);

    auto x_d = to_device(x), dy_d = to_device(dy);
    tn::Buffer<tn::cuda> y_d(y_cpu.size()), dx_d(dx_cpu.size());
    gpu.forward(x_d.data(), y_d.data(), batch, tn::Mode::train);
    gpu.backward(x_d.data(), y_d.data(), dy_d.data(), dx_d.data(), batch, false);
    check_close(what + " forward", to_host(y_d), y_cpu);
    check_close(what + " backward dx", to_host(dx_d), dx_cpu);
    for (std::size_t i = 0; i < cpu.parameters().size(); ++i)
        check_close(what + " backward d" + std::string(cpu.parameters()[i].name), gpu.parameters()[i].gradients(),
                    cpu.parameters()[i].gradients());
    // State a training-mode forward moved (BatchNormalization's moving statistics).
    if constexpr (tn::HasState<CpuLayer>)
        for (std::size_t i = 0; i < cpu.state().size(); ++i)
            check_close(what + " state " + std::string(cpu.state()[i].name), gpu.state()[i].values(),
                        cpu.state()[i].values());
}

}  // namespace

CUDA_TEST_CASE(every_layer_forward_and_backward) {
    using Image = tn::Shape<12, 10, 3>;
    compare_layer<tn::Conv2D<8, 3, tn::ReLU>, Image>("Conv2D<8, 3, ReLU>", 3);
    compare_layer<tn::Conv2D<6, 3, tn::Sigmoid, tn::Same, 2>, Image>("Conv2D<6, 3, Sigmoid, Same, 2>", 3);
    compare_layer<tn::Conv2D<4, 1>, Image>("Conv2D<4, 1> (pointwise)", 3);
    compare_layer<tn::Conv2D<16, 3, tn::ReLU, tn::Same>, tn::Shape<20, 20, 32>>("Conv2D<16, 3, ReLU, Same> on 32 channels", 2);
    compare_layer<tn::MaxPooling2D<2>, Image>("MaxPooling2D<2>", 3);
    compare_layer<tn::MaxPooling2D<3, 2>, Image>("MaxPooling2D<3, 2>", 3);
    compare_layer<tn::Flatten, Image>("Flatten", 3);
    compare_layer<tn::Dense<7, tn::ReLU>, tn::Shape<50>>("Dense<7, ReLU>", 4);
    compare_layer<tn::Dense<5, tn::Softmax>, tn::Shape<50>>("Dense<5, Softmax>", 4);
    compare_layer<tn::Dense<1, tn::Sigmoid>, tn::Shape<50>>("Dense<1, Sigmoid>", 4);
    compare_layer<tn::Dense<9>, tn::Shape<50>>("Dense<9> (linear)", 4);
    compare_layer<tn::Dropout<0.3f>, tn::Shape<50>>("Dropout<0.3>", 4);
}

CUDA_TEST_CASE(backbone_layers_forward_and_backward) {
    using Image = tn::Shape<12, 10, 3>;
    // Training mode: batch statistics, moving statistics updated on both devices.
    compare_layer<tn::BatchNormalization<>, tn::Shape<12, 10, 16>>("BatchNormalization<> (training)", 3);
    compare_layer<tn::BatchNormalization<0.9f>, tn::Shape<20>>("BatchNormalization<0.9> on flat input", 5);
    compare_layer<tn::DepthwiseConv2D<3, tn::ReLU, tn::Same>, Image>("DepthwiseConv2D<3, ReLU, Same>", 3);
    compare_layer<tn::DepthwiseConv2D<3, tn::Linear, tn::Same, 2, "", tn::NoBias, 2>, Image>(
        "DepthwiseConv2D stride 2, no bias, multiplier 2", 3);
    compare_layer<tn::DepthwiseConv2D<4, tn::Linear, tn::Valid, 1, "", tn::UseBias, 3>, Image>(
        "DepthwiseConv2D<4> multiplier 3", 2);
    compare_layer<tn::Conv2D<8, 3, tn::Linear, tn::Same, 2, "", tn::NoBias>, Image>("Conv2D without bias", 3);
    compare_layer<tn::AveragePooling2D<3, tn::Same, 2>, Image>("AveragePooling2D<3, Same, 2>", 3);
    compare_layer<tn::AveragePooling2D<2>, Image>("AveragePooling2D<2>", 3);
    compare_layer<tn::GlobalAveragePooling2D<>, Image>("GlobalAveragePooling2D", 3);
    compare_layer<tn::ZeroPadding2D<1, 2, 0, 3>, Image>("ZeroPadding2D<1, 2, 0, 3>", 3);
    compare_layer<tn::ReLU6, Image>("ReLU6", 3);
    compare_layer<tn::ReLU, Image>("ReLU layer", 3);
    compare_layer<tn::Activation<tn::Softmax>, Image>("Activation<Softmax>", 3);
}

// ---- Models and the trainer -------------------------------------------------------------

namespace {

std::vector<float> class_labels_5(std::size_t n, std::uint64_t seed) {
    tn::Random rng(seed);
    std::vector<float> y(n);
    for (float& v : y) v = static_cast<float>(rng.below(5));
    return y;
}

std::vector<float> one_hot_5(std::size_t n, std::uint64_t seed) {
    tn::Random rng(seed);
    std::vector<float> y(n, 0.0f);
    for (std::size_t r = 0; r < n / 5; ++r) y[r * 5 + rng.below(5)] = 1.0f;
    return y;
}

}  // namespace

CUDA_TEST_CASE(model_a_full_training_step_at_150x150) {
    // tn::on<tn::cuda, chapter5::BasicCNN<150, 150, 3>>: the chapter's model A and its RMSprop(1e-4).
    using A = chapter5::BasicCNN<150, 150, 3>;
    compare_training<A>("model A, RMSprop", 4, 1, tn::BinaryCrossentropy{}, tn::RMSprop{.learning_rate = 1e-4f},
                        [](auto&) {}, binary_labels, false);
    compare_training<A>("model A, SGD momentum", 4, 1, tn::BinaryCrossentropy{},
                        tn::SGD{.learning_rate = 0.01f, .momentum = 0.9f}, [](auto&) {}, binary_labels, true);
}

CUDA_TEST_CASE(model_b_with_dropout) {
    using B = chapter5::RegularizedCNN<48, 48, 3>;
    compare_training<B>("model B (48x48), RMSprop", 6, 1, tn::BinaryCrossentropy{}, tn::RMSprop{.learning_rate = 1e-4f},
                        [](auto&) {}, binary_labels, false);
    compare_training<B>("model B (48x48), SGD momentum", 6, 2, tn::BinaryCrossentropy{},
                        tn::SGD{.learning_rate = 0.01f, .momentum = 0.9f}, [](auto&) {}, binary_labels, true);
}

CUDA_TEST_CASE(model_f_finetune_from_block4) {
    // Model F's shape at 32x32 (VGG-16's smallest input): blocks 1-3 frozen, so their
    // weights must come out of the step untouched on both devices.
    using F = chapter5::VGGTransfer<32, 32>;
    auto from_block4 = [](auto& model) { model.set_trainable_from("block4_conv1"); };
    compare_training<F>("model F (32x32), RMSprop", 2, 1, tn::BinaryCrossentropy{}, tn::RMSprop{.learning_rate = 1e-5f},
                        from_block4, binary_labels, false);
    compare_training<F>("model F (32x32), SGD momentum", 2, 1, tn::BinaryCrossentropy{},
                        tn::SGD{.learning_rate = 0.01f, .momentum = 0.9f}, from_block4, binary_labels, true);
}

CUDA_TEST_CASE(training_steps_of_a_model_of_blocks) {
    // Add with a projection shortcut, BatchNormalization in training mode, a Concatenate
    // with an identity branch, depthwise convolution, ReLU6: the backbone pieces together.
    using Net = tn::Sequential<
        tn::Input<16, 16, 3>,
        tn::Add<"b1_add",
                tn::Branch<tn::Conv2D<8, 1, tn::Linear, tn::Valid, 2, "b1_0_conv", tn::NoBias>,
                           tn::BatchNormalization<0.99f, 1e-3f, "b1_0_bn">>,
                tn::Branch<tn::Conv2D<8, 3, tn::Linear, tn::Same, 2, "b1_1_conv", tn::NoBias>,
                           tn::BatchNormalization<0.99f, 1e-3f, "b1_1_bn">, tn::Named<"b1_1_relu", tn::ReLU6>,
                           tn::DepthwiseConv2D<3, tn::Linear, tn::Same, 1, "b1_2_dw">>>,
        tn::ReLU,
        tn::Concatenate<"mixed", tn::Branch<>, tn::Branch<tn::AveragePooling2D<3, tn::Same, 1, "mixed_pool">>>,
        tn::GlobalAveragePooling2D<>, tn::Dense<1, tn::Sigmoid>>;
    compare_training<Net>("model of blocks, SGD momentum", 4, 2, tn::BinaryCrossentropy{},
                          tn::SGD{.learning_rate = 0.01f, .momentum = 0.9f}, [](auto&) {}, binary_labels, true);
}

CUDA_TEST_CASE(training_steps_of_backbone_blocks) {
    // One block of each zoo backbone, as the zoo spells it: compiling this file is CI's
    // check that nvcc takes the zoo's types (its host-code generation once failed on them),
    // at a fraction of the whole backbones' cost (test_cuda_backbones.cu).
    using Blocks = tn::Sequential<tn::Input<8, 8, 16>, tn::zoo::ResNetBlock<2, 1, 4, 2>,
                                  tn::zoo::InvertedResidual<1, 16, 16, 1>, tn::zoo::InvertedResidual<2, 16, 16, 1>,
                                  tn::GlobalAveragePooling2D<>, tn::Dense<1, tn::Sigmoid>>;
    compare_training<Blocks>("a ResNet-50 block and two MobileNetV2 blocks, SGD momentum", 4, 2,
                             tn::BinaryCrossentropy{}, tn::SGD{.learning_rate = 0.01f, .momentum = 0.9f},
                             [](auto&) {}, binary_labels, true);
}

CUDA_TEST_CASE(softmax_heads_with_adam_and_sgd) {
    using Head = tn::Sequential<tn::Input<20>, tn::Dense<16, tn::ReLU>, tn::Dropout<0.2f>, tn::Dense<5, tn::Softmax>>;
    using Logits = tn::Sequential<tn::Input<20>, tn::Dense<16, tn::ReLU>, tn::Dense<5>>;
    compare_training<Head>("softmax head, categorical, Adam", 8, 3, tn::CategoricalCrossentropy{}, tn::Adam{},
                           [](auto&) {}, one_hot_5, false);
    compare_training<Head>("softmax head, sparse, SGD nesterov", 8, 3, tn::SparseCategoricalCrossentropy{},
                           tn::SGD{.learning_rate = 0.05f, .momentum = 0.9f, .nesterov = true}, [](auto&) {},
                           class_labels_5, true);
    compare_training<Logits>("logits head, categorical from logits, SGD", 8, 3,
                             tn::CategoricalCrossentropy{.from_logits = true}, tn::SGD{.learning_rate = 0.05f},
                             [](auto&) {}, one_hot_5, true);
}

CUDA_TEST_CASE(training_steps_allocate_nothing_after_the_first) {
    tn::on<tn::cuda, chapter5::BasicCNN<150, 150, 3>> model;
    auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::RMSprop{.learning_rate = 1e-4f});
    const std::size_t batch = 8;
    const auto x = random_vector(batch * 150 * 150 * 3, 500, 0.0f, 1.0f);
    const auto y = binary_labels(batch, 501);
    trainer.train_on_batch(x.data(), y.data(), batch);
    const std::size_t growth = tn::buffer_growth_count();
    for (int i = 0; i < 3; ++i) trainer.train_on_batch(x.data(), y.data(), batch);
    trainer.train_on_batch(x.data(), y.data(), batch - 3);  // a smaller last batch
    check(tn::buffer_growth_count() == growth, "no Buffer grows (no cudaMalloc) after the first training step");
}

namespace {
using SmallNet = tn::Sequential<tn::Input<16, 16, 3>, tn::Conv2D<8, 3, tn::ReLU>, tn::MaxPooling2D<2>, tn::Flatten,
                                tn::Dense<16, tn::ReLU>, tn::Dropout<0.3f>, tn::Dense<1, tn::Sigmoid>>;

xt::xtensor<float, 4> small_images(std::size_t n, std::uint64_t seed) {
    const auto values = random_vector(n * 16 * 16 * 3, seed, 0.0f, 1.0f);
    xt::xtensor<float, 4> x = xt::adapt(values, std::array<std::size_t, 4>{n, 16, 16, 3});
    return x;
}
}  // namespace

CUDA_TEST_CASE(fit_evaluate_predict_through_the_trainer) {
    const std::size_t n = 23;
    const auto x = small_images(n, 600);
    const auto labels = binary_labels(n, 601);
    xt::xtensor<float, 1> y = xt::adapt(labels, std::array<std::size_t, 1>{n});
    tn::on<tn::cpu, SmallNet> cpu_model;
    tn::on<tn::cuda, SmallNet> gpu_model;
    auto cpu_trainer = tn::compile(cpu_model, tn::BinaryCrossentropy{}, tn::RMSprop{.learning_rate = 1e-3f});
    auto gpu_trainer = tn::compile(gpu_model, tn::BinaryCrossentropy{}, tn::RMSprop{.learning_rate = 1e-3f});
    const tn::FitOptions options{.epochs = 3, .batch_size = 5, .seed = 9, .verbose = 0};
    const tn::History cpu_history = cpu_trainer.fit(x, y, options);
    const tn::History gpu_history = gpu_trainer.fit(x, y, options);
    check(gpu_history.epochs() == 3, "fit on the GPU runs every epoch");
    for (std::size_t e = 0; e < cpu_history.epochs() && e < gpu_history.epochs(); ++e)
        check_close("fit epoch " + std::to_string(e + 1) + " loss and accuracy",
                    {static_cast<float>(gpu_history.loss[e]), static_cast<float>(gpu_history.accuracy[e])},
                    {static_cast<float>(cpu_history.loss[e]), static_cast<float>(cpu_history.accuracy[e])});
    const tn::Evaluation c = cpu_trainer.evaluate(x, y, 4);
    const tn::Evaluation g = gpu_trainer.evaluate(x, y, 4);
    check_close("evaluate loss and accuracy", {static_cast<float>(g.loss), static_cast<float>(g.accuracy)},
                {static_cast<float>(c.loss), static_cast<float>(c.accuracy)});
    const xt::xtensor<float, 2> p_cpu = tn::predict(cpu_model, x, 7);
    const xt::xtensor<float, 2> p_gpu = tn::predict(gpu_model, x, 7);
    check_close("predict", std::vector<float>(p_gpu.begin(), p_gpu.end()), std::vector<float>(p_cpu.begin(), p_cpu.end()));
}

CUDA_TEST_CASE(save_on_gpu_load_on_cpu) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("typenet_cuda_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const fs::path path = dir / "small_net.safetensors";
    tn::on<tn::cuda, SmallNet> gpu_model{17};
    auto trainer = tn::compile(gpu_model, tn::BinaryCrossentropy{}, tn::RMSprop{.learning_rate = 1e-3f});
    const auto x = small_images(6, 700);
    const auto y = binary_labels(6, 701);
    trainer.train_on_batch(x.data(), y.data(), 6);  // weights that no initializer gives
    tn::io::save_weights(gpu_model, path);

    tn::on<tn::cpu, SmallNet> cpu_model{tn::no_initialization};
    tn::io::load_weights(cpu_model, path);
    const auto on_gpu = parameters_of(gpu_model);
    const auto on_cpu = parameters_of(cpu_model);
    for (std::size_t i = 0; i < on_gpu.size(); ++i)
        check_equal("loaded on the CPU: " + on_gpu[i].path, on_cpu[i].values, on_gpu[i].values);
    const auto p_cpu = tn::predict(cpu_model, x);
    const auto p_gpu = tn::predict(gpu_model, x);
    check_close("predictions of the saved and the loaded model", std::vector<float>(p_gpu.begin(), p_gpu.end()),
                std::vector<float>(p_cpu.begin(), p_cpu.end()));

    tn::on<tn::cuda, SmallNet> reloaded{tn::no_initialization};  // and back onto the GPU
    tn::io::load_weights(reloaded, path);
    const auto again = parameters_of(reloaded);
    for (std::size_t i = 0; i < on_gpu.size(); ++i)
        check_equal("loaded back on the GPU: " + on_gpu[i].path, again[i].values, on_gpu[i].values);
    fs::remove_all(dir);
}
