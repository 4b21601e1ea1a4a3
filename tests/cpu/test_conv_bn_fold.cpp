// BatchNormalization folded into the convolution before it for inference
// (layers/fold_batch_norm.hpp): a model of Conv2D (3x3 and strided 1x1, with and without
// bias), DepthwiseConv2D and a ResNet bottleneck block (an Add of branches, each a chain
// of its own), every BatchNormalization with random gamma, beta and moving statistics,
// gives the same inference outputs folded and unfolded within float rounding; the fold
// really runs (the folded convolution's own output is not written); and training mode,
// with BatchNormalization learning or frozen, is not touched by it (the same bits).
// ReLU(max_value=6.) after a convolution + BatchNormalization folds too (the clamp in the
// convolution's store): a MobileNetV2-like stack whose activations cross 0 and 6 gives the
// same outputs, every ReLU6's included, folded and unfolded with each convolution algorithm.
#define BOOST_TEST_MODULE typenet conv batch-norm folding
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string_view>
#include <vector>

#include "reference.hpp"
#include "typenet/typenet.hpp"
#include "typenet/zoo/resnet.hpp"

namespace tn = typenet;

namespace {

using Net = tn::Sequential<
    tn::Input<10, 9, 8>, tn::Conv2D<16, 3, tn::Linear, tn::Same, 1, "c1", tn::NoBias>,
    tn::BatchNormalization<0.99f, 1e-3f, "bn1">, tn::Activation<tn::ReLU, "r1">,
    tn::Conv2D<24, 1, tn::Linear, tn::Valid, 2, "c2">, tn::BatchNormalization<0.99f, 1e-3f, "bn2">, tn::ReLU,
    tn::DepthwiseConv2D<3, tn::Linear, tn::Same, 1, "dw", tn::NoBias>, tn::BatchNormalization<0.999f, 1e-3f, "bn3">,
    tn::ReLU6, tn::zoo::ResNetBlock<2, 2, 6>, tn::GlobalAveragePooling2D<>>;

constexpr std::size_t batch = 3;


std::vector<float> run(Net& net, const std::vector<float>& x, tn::Mode mode, bool fold) {
    tn::set_batch_norm_folding(fold);
    std::vector<float> y(batch * Net::output_shape::size);
    net.forward(x.data(), y.data(), batch, mode);
    tn::set_batch_norm_folding(true);
    return y;
}

std::vector<float> first_layer_output(const Net& net) {
    const float* a = net.activation_of<0>();
    return {a, a + batch * Net::layer_output_sizes[0]};
}

}  // namespace

BOOST_AUTO_TEST_CASE(folded_inference_equals_unfolded_within_rounding) {
    Net net(7);
    cpu_test::randomise_batch_norms(net);
    const auto x = cpu_test::random_values(batch * Net::input_shape::size, 1);
    const auto unfolded = run(net, x, tn::Mode::infer, false);
    const auto folded = run(net, x, tn::Mode::infer, true);
    const double error = cpu_test::relative_error(folded, unfolded);
    BOOST_TEST_INFO("relative error " << error);
    BOOST_TEST(error < 1e-5);
    BOOST_TEST(*std::max_element(unfolded.begin(), unfolded.end()) > 0.0f);  // the check compares something
}

BOOST_AUTO_TEST_CASE(the_fold_runs_in_inference) {
    Net net(8);
    cpu_test::randomise_batch_norms(net);
    const auto x1 = cpu_test::random_values(batch * Net::input_shape::size, 2);
    const auto x2 = cpu_test::random_values(batch * Net::input_shape::size, 3);
    run(net, x1, tn::Mode::infer, false);
    const auto c1_of_x1 = first_layer_output(net);
    run(net, x2, tn::Mode::infer, true);  // folded: c1 writes straight into r1's output
    BOOST_TEST((first_layer_output(net) == c1_of_x1));
    run(net, x2, tn::Mode::infer, false);  // unfolded: c1's own output is x2's
    BOOST_TEST((first_layer_output(net) != c1_of_x1));
}

BOOST_AUTO_TEST_CASE(training_mode_is_never_folded) {
    const auto x = cpu_test::random_values(batch * Net::input_shape::size, 4);
    for (bool frozen : {false, true}) {
        Net a(9), b(9);
        cpu_test::randomise_batch_norms(a);
        cpu_test::randomise_batch_norms(b);
        if (frozen) {  // frozen BatchNormalization runs in inference mode inside fit()
            a.set_trainable(false);
            b.set_trainable(false);
        }
        const auto with_fold = run(a, x, tn::Mode::train, true);
        const auto without = run(b, x, tn::Mode::train, false);
        BOOST_TEST_INFO((frozen ? "frozen" : "learning"));
        BOOST_TEST((with_fold == without));
    }
}

// backward() after an inference forward (a gradient check in inference mode does this)
// reads the outputs folding skipped: the chain computes them first, so the gradients equal
// those after an unfolded forward.
BOOST_AUTO_TEST_CASE(backward_after_a_folded_forward_gets_the_unfolded_gradients) {
    const auto x = cpu_test::random_values(batch * Net::input_shape::size, 5);
    const auto dy = cpu_test::random_values(batch * Net::output_shape::size, 6);
    std::vector<float> dx_folded(x.size()), dx_unfolded(x.size());
    Net a(10), b(10);
    cpu_test::randomise_batch_norms(a);
    cpu_test::randomise_batch_norms(b);
    const auto ya = run(a, x, tn::Mode::infer, true);
    const auto yb = run(b, x, tn::Mode::infer, false);
    a.backward(x.data(), ya.data(), dy.data(), dx_folded.data(), batch, false);
    b.backward(x.data(), yb.data(), dy.data(), dx_unfolded.data(), batch, false);
    BOOST_TEST(cpu_test::relative_error(dx_folded, dx_unfolded) < 1e-5);
    std::vector<std::vector<float>> grads_a, grads_b;
    a.for_each_parameter([&](std::string_view, auto& p, bool) { grads_a.push_back(p.gradients()); });
    b.for_each_parameter([&](std::string_view, auto& p, bool) { grads_b.push_back(p.gradients()); });
    BOOST_TEST_REQUIRE(grads_a.size() == grads_b.size());
    for (std::size_t i = 0; i < grads_a.size(); ++i) {
        BOOST_TEST_INFO("parameter " << i);
        BOOST_TEST(cpu_test::relative_error(grads_a[i], grads_b[i]) < 1e-4);
    }
}

namespace {

// MobileNetV2's pattern: a strided 3x3 stem, a 1x1 expand, a 3x3 depthwise (each + BN +
// ReLU6), a 1x1 projection + BN without one, and a 3x3 stride-1 Conv2D + BN + ReLU6 (the
// Winograd shape).
using MobileNetLike = tn::Sequential<
    tn::Input<13, 11, 3>, tn::Conv2D<16, 3, tn::Linear, tn::Same, 2, "stem", tn::NoBias>,
    tn::BatchNormalization<0.999f, 1e-3f, "stem_bn">, tn::ReLUMax<6.0f, "stem_relu">,
    tn::Conv2D<32, 1, tn::Linear, tn::Valid, 1, "expand", tn::NoBias>, tn::BatchNormalization<0.999f, 1e-3f, "expand_bn">,
    tn::ReLUMax<6.0f, "expand_relu">, tn::DepthwiseConv2D<3, tn::Linear, tn::Same, 1, "dw", tn::NoBias>,
    tn::BatchNormalization<0.999f, 1e-3f, "dw_bn">, tn::ReLUMax<6.0f, "dw_relu">,
    tn::Conv2D<24, 1, tn::Linear, tn::Valid, 1, "project", tn::NoBias>,
    tn::BatchNormalization<0.999f, 1e-3f, "project_bn">, tn::Conv2D<16, 3, tn::Linear, tn::Same, 1, "c3">,
    tn::BatchNormalization<0.999f, 1e-3f, "c3_bn">, tn::ReLUMax<6.0f, "c3_relu">>;

// The ReLU6 outputs (layers 2, 5, 8) and the network's, end to end.
std::vector<std::vector<float>> relu6_outputs(MobileNetLike& net, const std::vector<float>& x, bool fold) {
    tn::set_batch_norm_folding(fold);
    std::vector<float> y(batch * MobileNetLike::output_shape::size);
    net.forward(x.data(), y.data(), batch, tn::Mode::infer);
    tn::set_batch_norm_folding(true);
    auto layer = [&](const float* a, std::size_t i) {
        return std::vector<float>(a, a + batch * MobileNetLike::layer_output_sizes[i]);
    };
    return {layer(net.activation_of<2>(), 2), layer(net.activation_of<5>(), 5), layer(net.activation_of<8>(), 8), y};
}

// Random BatchNormalizations (reference.hpp) with gamma in [1.5, 4]: each layer's outputs
// spread past 6, so the clamp's ceiling is exercised deep in the stack too.
void randomise_wide(MobileNetLike& net) {
    cpu_test::randomise_batch_norms(net);
    unsigned seed = 200;
    net.for_each_weight([&](std::string_view, auto& tensor, bool) {
        if (std::string_view(tensor.name) == "gamma")
            tensor.set_values(cpu_test::random_values(tensor.size(), ++seed, 1.5f, 4.0f));
    });
}

}  // namespace

BOOST_AUTO_TEST_CASE(relu6_folds_into_conv_and_depthwise_with_each_algorithm) {
    MobileNetLike net(11);
    randomise_wide(net);
    const auto x = cpu_test::random_values(batch * MobileNetLike::input_shape::size, 12, -8.0f, 8.0f);
    for (tn::ConvAlgorithm algorithm : {tn::ConvAlgorithm::automatic, tn::ConvAlgorithm::im2col,
                                        tn::ConvAlgorithm::winograd, tn::ConvAlgorithm::direct}) {
        tn::set_conv_algorithm(algorithm);
        const auto unfolded = relu6_outputs(net, x, false);
        const auto folded = relu6_outputs(net, x, true);
        for (std::size_t i = 0; i < unfolded.size(); ++i) {
            const auto& u = unfolded[i];
            BOOST_TEST_INFO(tn::conv_algorithm_name(algorithm) << ", output " << i);
            BOOST_TEST(cpu_test::relative_error(folded[i], u) < 1e-5);
            // The check sees both kinks: outputs at 0, at 6, and between.
            const auto zeros = std::count(u.begin(), u.end(), 0.0f), sixes = std::count(u.begin(), u.end(), 6.0f);
            BOOST_TEST_INFO(tn::conv_algorithm_name(algorithm) << ", output " << i << ": " << zeros << " zeros, "
                                                               << sixes << " sixes of " << u.size());
            BOOST_TEST((zeros > 0 && sixes > 0 && std::size_t(zeros + sixes) < u.size()));
            BOOST_TEST(*std::max_element(folded[i].begin(), folded[i].end()) <= 6.0f);
        }
    }
    tn::set_conv_algorithm(tn::ConvAlgorithm::automatic);
}

// The ReLU6 really folds: the depthwise convolution's BatchNormalization's own output is
// not written by a folded forward (the convolution writes the ReLU6's; without the ReLU6
// folded it would write the BatchNormalization's).
BOOST_AUTO_TEST_CASE(relu6_fold_skips_the_batch_norm_output) {
    MobileNetLike net(13);
    randomise_wide(net);
    const auto x1 = cpu_test::random_values(batch * MobileNetLike::input_shape::size, 14, -8.0f, 8.0f);
    const auto x2 = cpu_test::random_values(batch * MobileNetLike::input_shape::size, 15, -8.0f, 8.0f);
    auto dw_bn_output = [&] {
        const float* a = net.activation_of<7>();
        return std::vector<float>(a, a + batch * MobileNetLike::layer_output_sizes[7]);
    };
    relu6_outputs(net, x1, false);
    const auto dw_bn_of_x1 = dw_bn_output();
    relu6_outputs(net, x2, true);
    BOOST_TEST((dw_bn_output() == dw_bn_of_x1));
    relu6_outputs(net, x2, false);
    BOOST_TEST((dw_bn_output() != dw_bn_of_x1));
}
