// Layer state that is not a weight (BatchNormalization's moving statistics): how Keras
// counts it, that fit() moves it only by the layer's own rule (no optimizer sees it), that
// a frozen layer keeps it, and that weight files save and load it under Keras's names.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "scratch_directory.hpp"
#include "typenet/io/weights.hpp"
#include "typenet/typenet.hpp"

namespace tn = typenet;

namespace {

using Net = tn::Sequential<tn::Input<6, 5, 3>, tn::Conv2D<4, 3, tn::Linear, tn::Valid, 1, "", tn::NoBias>,
                           tn::BatchNormalization<>, tn::ReLU, tn::GlobalAveragePooling2D<>, tn::Dense<1, tn::Sigmoid>>;
// Input<4> -> BN -> Dense: the BN sees the data itself, so its statistics are easy to compute here.
using Flat = tn::Sequential<tn::Input<4>, tn::BatchNormalization<0.9f>, tn::Dense<1, tn::Sigmoid>>;

// Every new layer once; Keras 3 printed the same model (make_keras3_layer_fixtures.py).
using BackboneLayers =
    tn::Sequential<tn::Input<32, 32, 3>, tn::ZeroPadding2D<0, 1, 0, 1>,
                   tn::Conv2D<8, 3, tn::Linear, tn::Valid, 2, "", tn::NoBias>, tn::BatchNormalization<0.999f>, tn::ReLU6,
                   tn::DepthwiseConv2D<3, tn::Linear, tn::Same, 1, "", tn::NoBias, 2>, tn::BatchNormalization<>,
                   tn::ReLU, tn::AveragePooling2D<2>, tn::Activation<tn::Sigmoid>, tn::GlobalAveragePooling2D<>,
                   tn::Dense<2, tn::Softmax>>;

std::string golden(const std::string& name) {
    std::ifstream in(std::string(TYPENET_FIXTURES_DIR) + "/summaries/" + name);
    BOOST_REQUIRE_MESSAGE(in, "missing golden file " << name);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::vector<float> ramp(std::size_t n, float scale, float offset) {
    std::vector<float> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>((i * 29) % 17) * scale + offset;
    return v;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(layer_state)

BOOST_AUTO_TEST_CASE(keras_counts_state_as_non_trainable) {
    // Keras: Conv2D(4, 3, use_bias=False) 108, BatchNormalization 16 (4 gamma/beta trainable,
    // 8 moving non-trainable), Dense(1) 5.
    static_assert(Net::param_count == 108 + 16 + 5);
    static_assert(Net::state_count == 8);
    using BN = Net::layer_type<1>;
    static_assert(BN::param_count == 16 && BN::state_count == 8);
    Net model;
    BOOST_TEST(model.trainable_param_count() == 108u + 8u + 5u);
    BOOST_TEST(model.non_trainable_param_count() == 8u);
    const std::string summary = tn::summary_string(model);
    BOOST_TEST(summary.find("batch_normalization_1 (Batch (None, 4, 3, 4)           16") != std::string::npos, summary);
    BOOST_TEST(summary.find("Trainable params: 121\nNon-trainable params: 8\n") != std::string::npos, summary);

    // Frozen, the layer's gamma and beta join its state among the non-trainable.
    model.set_trainable("batch_normalization_1", false);
    BOOST_TEST(model.trainable_param_count() == 113u);
    BOOST_TEST(tn::summary_string(model).find("Non-trainable params: 16\n") != std::string::npos);
    BOOST_TEST(!model.layer<1>().has_trainable_parameters());

    // The state is no parameter: optimizers get parameters() only.
    std::size_t parameters = 0, states = 0;
    model.for_each_parameter([&](std::string_view, const auto& p, bool) { parameters += p.size(); });
    model.for_each_state([&](std::string_view path, const auto& s) {
        states += s.size();
        BOOST_TEST(path == "batch_normalization_1");
    });
    BOOST_TEST(parameters == 108u + 8u + 5u);
    BOOST_TEST(states == 8u);
}

BOOST_AUTO_TEST_CASE(summaries_match_keras) {
    BackboneLayers model;
    BOOST_TEST(tn::summary_string(model) == golden("backbone_layers.txt"));
    model.set_trainable("batch_normalization_1", false);
    BOOST_TEST(tn::summary_string(model) == golden("backbone_layers_frozen_bn.txt"));
}

BOOST_AUTO_TEST_CASE(a_keras_model_from_its_weights_file) {
    // Keras 3 ran this model on these weights (moving statistics included): both modes.
    const std::string dir = std::string(TYPENET_FIXTURES_DIR) + "/keras/";
    BackboneLayers model;
    tn::io::load_weights(model, dir + "backbone_layers_weights.safetensors");
    std::map<std::string, tn::io::TensorData> io;
    for (auto& t : tn::io::read_safetensors(dir + "backbone_layers_io.safetensors")) io[t.name] = std::move(t);
    const std::size_t batch = io.at("input").shape.at(0);
    std::vector<float> y(batch * 2);
    auto expect_close = [](const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
        BOOST_REQUIRE_EQUAL(got.size(), want.size());
        for (std::size_t i = 0; i < got.size(); ++i)
            BOOST_TEST(std::abs(got[i] - want[i]) <= 1e-5f + 1e-4f * std::abs(want[i]),
                       what << "[" << i << "]: typenet " << got[i] << ", Keras " << want[i]);
    };
    model.forward(io.at("input").values.data(), y.data(), batch, tn::Mode::infer);
    expect_close(y, io.at("output").values, "inference output");
    model.forward(io.at("input").values.data(), y.data(), batch, tn::Mode::train);
    expect_close(y, io.at("output_training").values, "training output");
    model.for_each_state([&](std::string_view path, const auto& s) {
        expect_close(s.values(), io.at(std::string(path) + "/" + std::string(s.name) + "_after").values,
                     std::string(path) + "/" + std::string(s.name));
    });
}

BOOST_AUTO_TEST_CASE(fit_moves_state_by_the_layers_rule_only) {
    constexpr std::size_t n = 8;
    const std::vector<float> data = ramp(n * 4, 0.25f, -1.0f);
    xt::xtensor<float, 2> x = xt::zeros<float>({n, std::size_t{4}});
    xt::xtensor<float, 1> y = xt::zeros<float>({n});
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < 4; ++j) x(i, j) = data[i * 4 + j];
        y(i) = static_cast<float>(i % 2);
    }
    // The batch's mean and biased variance per feature, computed here in double.
    std::vector<double> mean(4, 0.0), variance(4, 0.0);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < 4; ++j) mean[j] += x(i, j) / static_cast<double>(n);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < 4; ++j) variance[j] += std::pow(x(i, j) - mean[j], 2) / static_cast<double>(n);

    Flat model;
    auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::SGD{.learning_rate = 0.5f, .momentum = 0.9f});
    trainer.fit(x, y, {.epochs = 1, .batch_size = n, .shuffle = false, .verbose = 0});
    const auto moving_mean = model.layer<0>().moving_mean().values();
    const auto moving_variance = model.layer<0>().moving_variance().values();
    for (std::size_t j = 0; j < 4; ++j) {
        // moving = moving * 0.9 + batch * 0.1, from 0 and 1: nothing else touched them.
        BOOST_TEST(moving_mean[j] == 0.1 * mean[j], boost::test_tools::tolerance(1e-5));
        BOOST_TEST(moving_variance[j] == 0.9 + 0.1 * variance[j], boost::test_tools::tolerance(1e-5));
    }
    // gamma and beta did learn.
    BOOST_TEST(model.layer<0>().beta().values() != std::vector<float>(4, 0.0f));

    // Frozen (TensorFlow 2's rule): inference mode in fit, the statistics stay.
    model.layer<0>().set_trainable(false);
    const auto gamma = model.layer<0>().gamma().values();
    trainer.fit(x, y, {.epochs = 2, .batch_size = 4, .shuffle = false, .verbose = 0});
    BOOST_TEST(model.layer<0>().moving_mean().values() == moving_mean);
    BOOST_TEST(model.layer<0>().moving_variance().values() == moving_variance);
    BOOST_TEST(model.layer<0>().gamma().values() == gamma);
}

BOOST_AUTO_TEST_CASE(weight_files_hold_the_state) {
    typenet_test::ScratchDirectory dir("layer_state");
    const auto path = dir.path() / "net.safetensors";
    Net trained{7};
    trained.layer<1>().moving_mean().set_values({0.1f, -0.2f, 0.3f, 0.4f});
    trained.layer<1>().moving_variance().set_values({1.5f, 0.5f, 2.0f, 0.25f});
    tn::io::save_weights(trained, path);

    // Keras's names, in Keras's order: gamma, beta, moving_mean, moving_variance.
    std::vector<std::string> names;
    for (const auto& t : tn::io::read_safetensors(path)) names.push_back(t.name);
    for (const char* name : {"batch_normalization_1/gamma", "batch_normalization_1/beta",
                             "batch_normalization_1/moving_mean", "batch_normalization_1/moving_variance"})
        BOOST_TEST((std::find(names.begin(), names.end(), name) != names.end()), name);

    Net loaded{8};
    tn::io::load_weights(loaded, path);
    BOOST_TEST(loaded.layer<1>().moving_mean().values() == trained.layer<1>().moving_mean().values());
    BOOST_TEST(loaded.layer<1>().moving_variance().values() == trained.layer<1>().moving_variance().values());
    std::vector<float> input = ramp(2 * Net::input_shape::size, 0.1f, -0.8f), a(2), b(2);
    trained.forward(input.data(), a.data(), 2, tn::Mode::infer);
    loaded.forward(input.data(), b.data(), 2, tn::Mode::infer);
    BOOST_TEST(a == b);

    // A file without the moving statistics is another model's: refused, naming them, model untouched.
    std::vector<tn::io::TensorData> partial;
    for (auto& t : tn::io::read_safetensors(path))
        if (t.name.find("moving_") == std::string::npos) partial.push_back(t);
    const auto partial_path = dir.path() / "partial.safetensors";
    tn::io::write_safetensors(partial_path, partial, {});
    Net fresh{9};
    const auto before = fresh.layer<1>().gamma().values();
    try {
        tn::io::load_weights(fresh, partial_path);
        BOOST_ERROR("a file without moving statistics loaded");
    } catch (const tn::io::WeightsMismatch& e) {
        const std::string message = e.what();
        BOOST_TEST(message.find("missing tensor batch_normalization_1/moving_mean") != std::string::npos, message);
        BOOST_TEST(message.find("missing tensor batch_normalization_1/moving_variance") != std::string::npos, message);
    }
    BOOST_TEST(fresh.layer<1>().gamma().values() == before);
}

BOOST_AUTO_TEST_SUITE_END()
