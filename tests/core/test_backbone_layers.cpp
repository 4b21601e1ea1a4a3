// The layers of today's backbones (BatchNormalization, DepthwiseConv2D, Conv2D without
// bias, AveragePooling2D, GlobalAveragePooling2D, ZeroPadding2D, ReLU(max_value),
// Activation): finite-difference gradient checks, then forward values and gradients
// against cases Keras 3 computed (tests/fixtures/make_keras3_layer_fixtures.py).
#define BOOST_TEST_MODULE typenet backbone layers
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "gradient_check.hpp"
#include "typenet/io/safetensors.hpp"
#include "typenet/typenet.hpp"

#include "keras_layer_fixtures.hpp"

namespace tn = typenet;
using tn::Shape;

namespace {

template <class Spec, class In>
using Bound = typename Spec::template bind<In, tn::cpu, "layer_under_test">;

using typenet_test::load_layer_case;
using typenet_test::expect_close_to_keras;

// Sets every parameter and state tensor of the layer from the case, by Keras name.
template <class Layer>
void load_weights(Layer& layer, std::map<std::string, tn::io::TensorData>& t, const std::string& name) {
    for (auto& p : layer.parameters()) {
        BOOST_REQUIRE_MESSAGE(t.count(std::string(p.name)), name << ": no tensor " << p.name);
        BOOST_REQUIRE(t.at(std::string(p.name)).shape == p.shape);
        p.set_values(t.at(std::string(p.name)).values);
    }
    if constexpr (tn::HasState<Layer>)
        for (auto& s : layer.state()) s.set_values(t.at(std::string(s.name)).values);
}

// Inference-mode forward and backward of one case; returns the layer for more checks.
template <class Spec, class In>
void check_case(const std::string& name) {
    using Layer = Bound<Spec, In>;
    auto t = load_layer_case(name);
    const std::size_t batch = t.at("input").shape.at(0);
    BOOST_REQUIRE_EQUAL(t.at("input").values.size(), batch * In::size);
    BOOST_REQUIRE_EQUAL(t.at("output").values.size(), batch * Layer::output_shape::size);

    Layer layer;
    load_weights(layer, t, name);
    std::vector<float> y(batch * Layer::output_shape::size), dx(batch * In::size);
    layer.forward(t.at("input").values.data(), y.data(), batch, tn::Mode::infer);
    expect_close_to_keras(y, t.at("output").values, name + " output");
    layer.backward(t.at("input").values.data(), y.data(), t.at("dy").values.data(), dx.data(), batch, false);
    expect_close_to_keras(dx, t.at("grad_input").values, name + " grad_input");
    for (auto& p : layer.parameters())
        expect_close_to_keras(p.gradients(), t.at("grad_" + std::string(p.name)).values, name + " grad_" + std::string(p.name));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gradients)

BOOST_AUTO_TEST_CASE(batch_normalization_training_mode) {
    // Batch statistics: every output depends on every input of its channel.
    gradcheck::check<Bound<tn::BatchNormalization<>, Shape<4, 3, 5>>>("bn train 4x3x5", 101, tn::Mode::train, 3);
    gradcheck::check<Bound<tn::BatchNormalization<0.9f, 1e-2f>, Shape<6>>>("bn train flat", 102, tn::Mode::train, 5);
    gradcheck::check<Bound<tn::BatchNormalization<>, Shape<2, 2, 3>>>("bn train batch 2", 103, tn::Mode::train, 2);
}

BOOST_AUTO_TEST_CASE(batch_normalization_inference_mode) {
    gradcheck::check<Bound<tn::BatchNormalization<>, Shape<4, 3, 5>>>("bn infer", 104, tn::Mode::infer, 3);
}

BOOST_AUTO_TEST_CASE(depthwise_convolution) {
    gradcheck::check<Bound<tn::DepthwiseConv2D<3>, Shape<7, 5, 3>>>("dw 3x3 valid", 111);
    gradcheck::check<Bound<tn::DepthwiseConv2D<3, tn::ReLU, tn::Same>, Shape<6, 5, 4>>>("dw 3x3 same relu", 112);
    gradcheck::check<Bound<tn::DepthwiseConv2D<3, tn::Linear, tn::Same, 2, "", tn::NoBias>, Shape<8, 6, 3>>>(
        "dw 3x3 stride 2 same no bias (even input)", 113);
    gradcheck::check<Bound<tn::DepthwiseConv2D<2, tn::Sigmoid, tn::Valid, 1, "", tn::UseBias, 3>, Shape<5, 4, 2>>>(
        "dw 2x2 multiplier 3", 114);
    gradcheck::check<Bound<tn::DepthwiseConv2D<4, tn::Linear, tn::Same, 1, "", tn::UseBias, 2>, Shape<5, 5, 2>>>(
        "dw 4x4 same (asymmetric pad) multiplier 2", 115);
}

BOOST_AUTO_TEST_CASE(convolution_without_bias) {
    gradcheck::check<Bound<tn::Conv2D<4, 3, tn::Linear, tn::Same, 2, "", tn::NoBias>, Shape<8, 6, 3>>>(
        "conv 3x3 stride 2 same no bias", 121);
    gradcheck::check<Bound<tn::Conv2D<5, 1, tn::ReLU, tn::Valid, 1, "", tn::NoBias>, Shape<4, 3, 6>>>(
        "conv 1x1 no bias", 122);
}

BOOST_AUTO_TEST_CASE(pooling_and_padding) {
    gradcheck::check<Bound<tn::AveragePooling2D<2>, Shape<7, 5, 3>>>("avg pool 2 valid", 131);
    gradcheck::check<Bound<tn::AveragePooling2D<3, tn::Same, 2>, Shape<7, 5, 2>>>("avg pool 3 stride 2 same", 132);
    gradcheck::check<Bound<tn::AveragePooling2D<3, tn::Same, 1>, Shape<6, 6, 2>>>("avg pool 3 stride 1 same", 133);
    gradcheck::check<Bound<tn::GlobalAveragePooling2D<>, Shape<5, 4, 3>>>("global average pool", 134);
    gradcheck::check<Bound<tn::ZeroPadding2D<1, 2, 3, 0>, Shape<3, 4, 2>>>("zero padding asymmetric", 135);
}

BOOST_AUTO_TEST_CASE(activation_layers) {
    gradcheck::check<Bound<tn::ReLU, Shape<4, 3, 5>>>("ReLU layer", 141);
    gradcheck::check<Bound<tn::ReLUMax<0.5f>, Shape<4, 3, 5>>>("ReLU max_value 0.5 (both kinks)", 142);
    gradcheck::check<Bound<tn::Activation<tn::Sigmoid>, Shape<3, 2, 4>>>("Activation sigmoid", 143);
    gradcheck::check<Bound<tn::Activation<tn::Softmax>, Shape<3, 2, 4>>>("Activation softmax (last axis)", 144);
    gradcheck::check<Bound<tn::Activation<tn::ReLU>, Shape<6>>>("Activation relu", 145);
}

BOOST_AUTO_TEST_CASE(a_small_mobilenet_style_model) {
    // Every new layer in one model, trained mode: BN statistics flow through the chain.
    using Net = tn::Sequential<tn::Input<7, 6, 3>, tn::ZeroPadding2D<0, 1, 0, 1>,
                               tn::Conv2D<4, 3, tn::Linear, tn::Valid, 2, "", tn::NoBias>, tn::BatchNormalization<>,
                               tn::ReLU6, tn::DepthwiseConv2D<3, tn::Linear, tn::Same, 1, "", tn::NoBias>,
                               tn::BatchNormalization<0.999f>, tn::ReLU, tn::GlobalAveragePooling2D<>,
                               tn::Dense<2, tn::Softmax>>;
    gradcheck::check<Net>("mobilenet-style model", 151, tn::Mode::train, 3);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(keras3_parity)

BOOST_AUTO_TEST_CASE(batch_normalization_both_modes) {
    auto run = [](auto tag, const std::string& name) {
        using Layer = typename decltype(tag)::type;
        using In = typename Layer::input_shape;
        auto t = load_layer_case(name);
        const std::size_t batch = t.at("input").shape.at(0);
        const auto& x = t.at("input").values;
        std::vector<float> y(batch * In::size), dx(batch * In::size);

        // Inference: moving statistics; Keras's output and gradients.
        Layer layer;
        load_weights(layer, t, name);
        layer.forward(x.data(), y.data(), batch, tn::Mode::infer);
        expect_close_to_keras(y, t.at("output").values, name + " inference output");
        layer.backward(x.data(), y.data(), t.at("dy").values.data(), dx.data(), batch, false);
        expect_close_to_keras(dx, t.at("grad_input").values, name + " inference grad_input");
        expect_close_to_keras(layer.gamma().gradients(), t.at("grad_gamma").values, name + " inference grad_gamma");
        expect_close_to_keras(layer.beta().gradients(), t.at("grad_beta").values, name + " inference grad_beta");
        expect_close_to_keras(layer.moving_mean().values(), t.at("moving_mean").values, name + " inference keeps moving_mean");

        // Training: batch statistics, and the moving ones move by Keras's rule.
        layer.forward(x.data(), y.data(), batch, tn::Mode::train);
        expect_close_to_keras(y, t.at("output_training").values, name + " training output");
        layer.backward(x.data(), y.data(), t.at("dy").values.data(), dx.data(), batch, false);
        expect_close_to_keras(dx, t.at("grad_input_training").values, name + " training grad_input");
        expect_close_to_keras(layer.gamma().gradients(), t.at("grad_gamma_training").values, name + " training grad_gamma");
        expect_close_to_keras(layer.beta().gradients(), t.at("grad_beta_training").values, name + " training grad_beta");
        expect_close_to_keras(layer.moving_mean().values(), t.at("moving_mean_after").values, name + " moving_mean after");
        expect_close_to_keras(layer.moving_variance().values(), t.at("moving_variance_after").values,
                     name + " moving_variance after");

        // Frozen: inference mode even when called for training (TensorFlow 2), state untouched.
        Layer frozen;
        load_weights(frozen, t, name);
        frozen.set_trainable(false);
        frozen.forward(x.data(), y.data(), batch, tn::Mode::train);
        expect_close_to_keras(y, t.at("output_frozen_training").values, name + " frozen, training call");
        expect_close_to_keras(frozen.moving_mean().values(), t.at("moving_mean").values, name + " frozen keeps moving_mean");
        expect_close_to_keras(frozen.moving_variance().values(), t.at("moving_variance").values,
                     name + " frozen keeps moving_variance");
    };
    run(std::type_identity<Bound<tn::BatchNormalization<0.9f, 1e-3f>, Shape<4, 5, 6>>>{}, "batch_normalization_4d");
    run(std::type_identity<Bound<tn::BatchNormalization<>, Shape<7>>>{}, "batch_normalization_defaults_flat");
    run(std::type_identity<Bound<tn::BatchNormalization<0.99f, 1.001e-5f>, Shape<3, 3, 4>>>{},
        "batch_normalization_resnet_eps");
}

BOOST_AUTO_TEST_CASE(depthwise_conv2d_cases) {
    check_case<tn::DepthwiseConv2D<3, tn::ReLU, tn::Same>, Shape<7, 5, 3>>("depthwise_conv2d_k3_same_relu");
    check_case<tn::DepthwiseConv2D<3, tn::Linear, tn::Same, 2, "", tn::NoBias, 2>, Shape<8, 6, 3>>(
        "depthwise_conv2d_k3_s2_same_m2_nobias");
    check_case<tn::DepthwiseConv2D<3, tn::Linear, tn::Valid, 2>, Shape<7, 5, 3>>("depthwise_conv2d_k3_s2_valid");
    check_case<tn::DepthwiseConv2D<2, tn::Linear, tn::Valid, 1, "", tn::UseBias, 3>, Shape<7, 5, 3>>(
        "depthwise_conv2d_k2_s1_valid_m3");
    check_case<tn::DepthwiseConv2D<4, tn::Linear, tn::Same>, Shape<7, 5, 3>>("depthwise_conv2d_k4_same_m1");
}

BOOST_AUTO_TEST_CASE(conv2d_without_bias_and_strided_same) {
    // Even input, stride 2, 'same': TensorFlow pads nothing at the top/left, one at the bottom/right.
    check_case<tn::Conv2D<4, 3, tn::Linear, tn::Same, 2, "", tn::NoBias>, Shape<8, 6, 3>>("conv2d_k3_s2_same_nobias_even");
    check_case<tn::Conv2D<5, 1, tn::Linear, tn::Valid, 1, "", tn::NoBias>, Shape<7, 5, 3>>("conv2d_k1_nobias");
}

BOOST_AUTO_TEST_CASE(pooling_and_padding_cases) {
    check_case<tn::GlobalAveragePooling2D<>, Shape<5, 4, 3>>("global_average_pooling2d");
    check_case<tn::AveragePooling2D<2>, Shape<7, 5, 3>>("average_pooling2d_p2_valid");
    check_case<tn::AveragePooling2D<3, tn::Same, 2>, Shape<7, 5, 3>>("average_pooling2d_p3_s2_same");
    check_case<tn::AveragePooling2D<3, tn::Same, 1>, Shape<6, 6, 2>>("average_pooling2d_p3_s1_same");
    check_case<tn::AveragePooling2D<2, tn::Same>, Shape<7, 5, 3>>("average_pooling2d_p2_s2_same");
    check_case<tn::ZeroPadding2D<1, 2, 3, 0>, Shape<3, 4, 2>>("zero_padding2d_asymmetric");
    check_case<tn::ZeroPadding2D<1>, Shape<3, 4, 2>>("zero_padding2d_1");
}

BOOST_AUTO_TEST_CASE(activation_cases) {
    check_case<tn::ReLU6, Shape<4, 3, 5>>("relu_max6");
    check_case<tn::ReLU, Shape<4, 3, 5>>("relu_plain");
    check_case<tn::Activation<tn::ReLU>, Shape<3, 2, 4>>("activation_relu");
    check_case<tn::Activation<tn::Sigmoid>, Shape<3, 2, 4>>("activation_sigmoid");
    check_case<tn::Activation<tn::Softmax>, Shape<3, 2, 4>>("activation_softmax");
    check_case<tn::Activation<tn::Linear>, Shape<3, 2, 4>>("activation_linear");
}

BOOST_AUTO_TEST_SUITE_END()
