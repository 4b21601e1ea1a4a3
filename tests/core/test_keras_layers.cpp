// Layers against Keras itself: forward outputs and the gradients TensorFlow computes
// for L = sum(output * dy), on cases made by tests/fixtures/make_keras_fixtures.py
// (tf.keras 2.15): odd sizes, 'same' with asymmetric padding, strides, every activation.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "typenet/io/safetensors.hpp"
#include "typenet/typenet.hpp"

#include "keras_layer_fixtures.hpp"

namespace tn = typenet;
using tn::Shape;

namespace {

using typenet_test::load_layer_case;
using typenet_test::expect_close_to_keras;

// Runs the bound layer on the case's input with its weights; compares output and gradients.
template <class Spec, class In>
void check_case(const std::string& name) {
    using Layer = typename Spec::template bind<In, tn::cpu, "keras_case">;
    auto t = load_layer_case(name);
    const std::size_t batch = t.at("input").shape.at(0);
    BOOST_REQUIRE_EQUAL(t.at("input").values.size(), batch * In::size);

    Layer layer;
    if constexpr (Layer::param_count != 0) {
        layer.kernel().set_values(t.at("kernel").values);
        layer.bias().set_values(t.at("bias").values);
    }
    std::vector<float> y(batch * Layer::output_shape::size), dx(batch * In::size);
    layer.forward(t.at("input").values.data(), y.data(), batch, tn::Mode::infer);
    expect_close_to_keras(y, t.at("output").values, name + " output");

    if (t.count("dy") == 0) return;
    layer.backward(t.at("input").values.data(), y.data(), t.at("dy").values.data(), dx.data(), batch, false);
    expect_close_to_keras(dx, t.at("grad_input").values, name + " grad_input");
    if constexpr (Layer::param_count != 0) {
        expect_close_to_keras(layer.kernel().gradients(), t.at("grad_kernel").values, name + " grad_kernel");
        expect_close_to_keras(layer.bias().gradients(), t.at("grad_bias").values, name + " grad_bias");
    }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(keras_parity)

BOOST_AUTO_TEST_CASE(conv2d_cases) {
    const auto config = [](const std::string& name) {
        return tn::io::read_safetensors_metadata(std::string(TYPENET_FIXTURES_DIR) + "/layers/" + name + ".safetensors")
            .at("config");
    };
    BOOST_TEST_MESSAGE("conv2d_k4_same_sigmoid: " << config("conv2d_k4_same_sigmoid"));
    check_case<tn::Conv2D<4, 3, tn::ReLU>, Shape<7, 5, 3>>("conv2d_k3_valid_relu");
    check_case<tn::Conv2D<2, 3, tn::Sigmoid>, Shape<6, 6, 2>>("conv2d_k3_valid_sigmoid");
    check_case<tn::Conv2D<4, 3, tn::Linear, tn::Same>, Shape<7, 5, 3>>("conv2d_k3_same_linear");
    check_case<tn::Conv2D<3, 4, tn::Sigmoid, tn::Same>, Shape<7, 5, 3>>("conv2d_k4_same_sigmoid");
    check_case<tn::Conv2D<4, 3, tn::ReLU, tn::Same, 2>, Shape<7, 5, 3>>("conv2d_k3_s2_same_relu");
    check_case<tn::Conv2D<4, 3, tn::Linear, tn::Valid, 2>, Shape<7, 5, 3>>("conv2d_k3_s2_valid_linear");
    check_case<tn::Conv2D<2, 2, tn::ReLU, tn::Same, 2>, Shape<7, 5, 3>>("conv2d_k2_s2_same_relu");
    check_case<tn::Conv2D<5, 1, tn::Softmax>, Shape<7, 5, 3>>("conv2d_k1_valid_softmax");
}

BOOST_AUTO_TEST_CASE(pooling_cases) {
    check_case<tn::MaxPooling2D<2>, Shape<7, 5, 3>>("max_pooling2d_p2_s2");
    check_case<tn::MaxPooling2D<2>, Shape<6, 4, 3>>("max_pooling2d_p2_s2_even");
    check_case<tn::MaxPooling2D<3, 2>, Shape<7, 5, 3>>("max_pooling2d_p3_s2");
}

BOOST_AUTO_TEST_CASE(dense_flatten_dropout_cases) {
    check_case<tn::Dense<5, tn::Linear>, Shape<6>>("dense_linear");
    check_case<tn::Dense<5, tn::ReLU>, Shape<6>>("dense_relu");
    check_case<tn::Dense<5, tn::Sigmoid>, Shape<6>>("dense_sigmoid");
    check_case<tn::Dense<5, tn::Softmax>, Shape<6>>("dense_softmax");
    check_case<tn::Flatten, Shape<3, 4, 2>>("flatten");
    check_case<tn::Dropout<0.3f>, Shape<4, 3>>("dropout_inference");
}

BOOST_AUTO_TEST_SUITE_END()
