// BatchNormalization folded into the convolution before it for inference
// (layers/fold_batch_norm.hpp): a model of Conv2D (3x3 and strided 1x1, with and without
// bias), DepthwiseConv2D and a ResNet bottleneck block (an Add of branches, each a chain
// of its own), every BatchNormalization with random gamma, beta and moving statistics,
// gives the same inference outputs folded and unfolded within float rounding; the fold
// really runs (the folded convolution's own output is not written); and training mode,
// with BatchNormalization learning or frozen, is not touched by it (the same bits).
#define BOOST_TEST_MODULE typenet conv batch-norm folding
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
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
