// A layer written outside the library (custom_layer/prelu.hpp, the example of
// docs/layers.md) meets the layer contract, computes what its formula says, passes the
// public gradient checker, and works inside a model like a library layer. The checker
// itself must fail a layer whose backward is wrong.
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <sstream>
#include <vector>

#include "custom_layer/prelu.hpp"
#include "typenet/layers/contract.hpp"
#include "typenet/testing/gradient_check.hpp"
#include "typenet/typenet.hpp"

namespace tn = typenet;
using tn::Shape;

namespace {

using Image = Shape<3, 2, 3>;
using Bound = my_layers::PReLU<>::bind<Image, tn::cpu, "p_re_lu">;

static_assert(tn::LayerSpecFor<my_layers::PReLU<>, Image>);
static_assert(tn::BoundLayer<Bound>);

// Slopes off Keras's zeros, so that the negative side of backward is checked too.
struct RandomSlopes {
    template <class Layer>
    void operator()(Layer& layer, tn::Random& rng) const {
        for (auto& p : layer.parameters()) p.set_values(tn::testing::random_vector(p.size(), rng, -0.8f, 0.8f));
    }
};

// The same layer with the mistake a first attempt makes: dx forgets alpha.
template <class In, class Device, tn::FixedString Name>
struct ForgetfulPReLULayer : my_layers::PReLULayer<In, Device, Name> {
    void backward(const float* x, const float* y, const float* dy, float* dx, std::size_t batch, bool pre) {
        my_layers::PReLULayer<In, Device, Name>::backward(x, y, dy, nullptr, batch, pre);
        if (dx != nullptr)
            for (std::size_t i = 0; i < batch * In::size; ++i) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(user_layer)

BOOST_AUTO_TEST_CASE(prelu_forward_follows_its_formula) {
    Bound layer;
    tn::Random rng(1);
    layer.initialize(rng);
    BOOST_TEST(layer.alpha().values() == std::vector<float>(3, 0.0f), "Keras initialises alpha to zeros");
    layer.alpha().set_values({0.5f, -2.0f, 0.25f});
    // One sample, 3 x 2 pixels of 3 channels: channel c of pixel p is x[p * 3 + c].
    const std::vector<float> x{1, -1, -4, -2, 3, 0, 0.5f, -0.5f, -8, -6, 2, 4, 7, -3, -1, 0, 0, 5};
    const std::vector<float> expected{1, 2, -1, -1, 3, 0, 0.5f, 1, -2, -3, 2, 4, 7, 6, -0.25f, 0, 0, 5};
    std::vector<float> y(x.size());
    layer.forward(x.data(), y.data(), 1, tn::Mode::infer);
    BOOST_TEST(y == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(prelu_passes_the_gradient_checker) {
    for (std::uint64_t seed : {1u, 2u, 3u}) {
        const auto report = tn::testing::check_gradients<Bound>(seed, {.batch = 3}, RandomSlopes{});
        BOOST_TEST(report.passed(), report.summary("PReLU"));
        BOOST_TEST(report.probes == Image::size * 3 + 3, "every input element and every slope probed");
    }
    // At Keras's initial zeros as well.
    const auto report = tn::testing::check_gradients<Bound>(4);
    BOOST_TEST(report.passed(), report.summary("PReLU at alpha = 0"));
}

BOOST_AUTO_TEST_CASE(the_checker_fails_a_wrong_backward) {
    const auto report = tn::testing::check_gradients<ForgetfulPReLULayer<Image, tn::cpu, "p">>(1, {}, RandomSlopes{});
    BOOST_TEST(!report.passed());
    BOOST_TEST(report.mismatches > 0u);
    BOOST_REQUIRE(!report.first_mismatches.empty());
    BOOST_TEST(report.first_mismatches.front().tensor == "x", "the input gradient is the wrong one");
}

BOOST_AUTO_TEST_CASE(prelu_inside_a_model) {
    using Net = tn::Sequential<tn::Input<6, 6, 2>, tn::Conv2D<3, 3>, my_layers::PReLU<>, tn::Flatten,
                               tn::Dense<4>, my_layers::PReLU<"slopes">, tn::Dense<1, tn::Sigmoid>>;
    Net model;
    BOOST_TEST(model.layer<1>().name.view() == "p_re_lu_1");
    BOOST_TEST(model.layer<4>().name.view() == "slopes");
    // 3 slopes after the convolution, 4 after the first Dense.
    BOOST_TEST(Net::param_count == (3 * 3 * 2 * 3 + 3) + 3 + (48 * 4 + 4) + 4 + (4 + 1));
    std::ostringstream summary;
    model.summary(summary);
    BOOST_TEST(summary.str().find("p_re_lu_1 (PReLU)") != std::string::npos, summary.str());

    using Runtime = tn::on<tn::cpu, Net>;
    const auto report = tn::testing::check_gradients<Runtime>(5, {}, [](Runtime& net, tn::Random& rng) {
        net.for_each_parameter([&](std::string_view, auto& p, bool) {
            if (p.name == "alpha") p.set_values(tn::testing::random_vector(p.size(), rng, -0.8f, 0.8f));
        });
    });
    BOOST_TEST(report.passed(), report.summary("model with two PReLU layers"));
}

BOOST_AUTO_TEST_SUITE_END()
