// Branches that merge (model/block.hpp): Add and Concatenate blocks against finite
// differences and against their own layers run one by one; the model sees a block's
// layers as its own (summary rows, weight names, trainable flags, get<>).
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "gradient_check.hpp"
#include "typenet/typenet.hpp"

namespace tn = typenet;
using tn::Shape;

namespace {

// A ResNet-style block with a projection shortcut (Keras's conv_block), and an identity one.
using Projection = tn::Add<"block1_add",
                           tn::Branch<tn::Conv2D<6, 1, tn::Linear, tn::Valid, 2, "block1_0_conv">,
                                      tn::BatchNormalization<0.99f, 1.001e-5f, "block1_0_bn">>,
                           tn::Branch<tn::Conv2D<4, 3, tn::Linear, tn::Same, 2, "block1_1_conv">,
                                      tn::BatchNormalization<0.99f, 1.001e-5f, "block1_1_bn">,
                                      tn::Named<"block1_1_relu", tn::Activation<tn::ReLU>>,
                                      tn::Conv2D<6, 3, tn::Linear, tn::Same, "block1_2_conv">>>;
using Identity = tn::Add<"block2_add", tn::Branch<>,
                         tn::Branch<tn::Conv2D<6, 3, tn::ReLU, tn::Same, "block2_1_conv">,
                                    tn::Conv2D<6, 1, tn::Linear, tn::Valid, "block2_2_conv">>>;
// Inception-style: three branches joined on the channel axis.
using Mixed = tn::Concatenate<"mixed0", tn::Branch<tn::Conv2D<3, 1, tn::ReLU, tn::Valid, "mixed0_1x1">>,
                              tn::Branch<tn::AveragePooling2D<3, tn::Same, 1, "mixed0_pool">>,
                              tn::Branch<tn::Conv2D<2, 3, tn::Linear, tn::Same, "mixed0_3x3">>>;

using ResNetLike = tn::Sequential<tn::Input<8, 7, 3>, Projection, tn::ReLU, Identity,
                                  tn::GlobalAveragePooling2D<>, tn::Dense<2, tn::Softmax>>;

// For the whole-model check, smooth activations: with BatchNormalization in training mode a
// probe moves every input of a channel's ReLUs at once and often crosses a kink, where finite
// differences mean nothing (the blocks above, ReLUs included, are checked one by one).
using SmoothNet =
    tn::Sequential<tn::Input<8, 7, 3>,
                   tn::Add<"s_add",
                           tn::Branch<tn::Conv2D<6, 1, tn::Linear, tn::Valid, 2, "s_0_conv">,
                                      tn::BatchNormalization<0.99f, 1e-3f, "s_0_bn">>,
                           tn::Branch<tn::Conv2D<6, 3, tn::Sigmoid, tn::Same, 2, "s_1_conv">,
                                      tn::BatchNormalization<0.99f, 1e-3f, "s_1_bn">>>,
                   tn::Activation<tn::Sigmoid>,
                   tn::Concatenate<"s_mixed", tn::Branch<>, tn::Branch<tn::Conv2D<2, 3, tn::Linear, tn::Same, "s_2_conv">>>,
                   tn::GlobalAveragePooling2D<>, tn::Dense<2, tn::Softmax>>;

template <class Spec, class In>
using Bound = typename Spec::template bind<In, tn::cpu, "block_under_test">;

}  // namespace

BOOST_AUTO_TEST_SUITE(blocks)

BOOST_AUTO_TEST_CASE(shapes_and_counts) {
    using P = Bound<Projection, Shape<8, 7, 3>>;
    static_assert(std::is_same_v<P::output_shape, Shape<4, 4, 6>>);
    static_assert(P::param_count == (3 * 6 + 6) + 4 * 6 + (27 * 4 + 4) + 4 * 4 + (36 * 6 + 6));
    static_assert(P::state_count == 2 * 6 + 2 * 4);
    using M = Bound<Mixed, Shape<5, 5, 4>>;
    static_assert(std::is_same_v<M::output_shape, Shape<5, 5, 3 + 4 + 2>>);
    static_assert(ResNetLike::param_count == P::param_count + Bound<Identity, Shape<4, 4, 6>>::param_count + 14);
}

BOOST_AUTO_TEST_CASE(gradients) {
    gradcheck::check<Bound<Projection, Shape<8, 7, 3>>>("projection block, training mode", 201, tn::Mode::train, 3);
    gradcheck::check<Bound<Identity, Shape<5, 4, 6>>>("identity block", 202);
    gradcheck::check<Bound<Mixed, Shape<5, 5, 4>>>("concatenate block", 203);
    gradcheck::check<ResNetLike>("resnet-like model, inference mode", 204, tn::Mode::infer, 3);
    gradcheck::check<SmoothNet>("model of blocks, training mode", 205, tn::Mode::train, 3);
}

BOOST_AUTO_TEST_CASE(forward_is_its_branches_merged) {
    // Identity block = x + conv2(conv1(x)), each conv run alone.
    using B = Bound<Identity, Shape<5, 4, 6>>;
    using C1 = tn::Conv2D<6, 3, tn::ReLU, tn::Same>::bind<Shape<5, 4, 6>, tn::cpu, "c1">;
    using C2 = tn::Conv2D<6, 1>::bind<Shape<5, 4, 6>, tn::cpu, "c2">;
    tn::Random rng(3);
    B block;
    block.initialize(rng);
    C1 c1;
    C2 c2;
    c1.kernel().set_values(block.get<"block2_1_conv">().kernel().values());
    c2.kernel().set_values(block.get<"block2_2_conv">().kernel().values());
    const std::size_t batch = 2, n = batch * 5 * 4 * 6;
    const auto x = gradcheck::random_vector(n, rng);
    std::vector<float> y(n), h(n), want(n);
    block.forward(x.data(), y.data(), batch, tn::Mode::infer);
    c1.forward(x.data(), h.data(), batch, tn::Mode::infer);
    c2.forward(h.data(), want.data(), batch, tn::Mode::infer);
    for (std::size_t i = 0; i < n; ++i) BOOST_TEST(y[i] == want[i] + x[i], boost::test_tools::tolerance(1e-6f));

    // Concatenate: the branches' channels side by side, in branch order.
    using Mb = Bound<Mixed, Shape<5, 5, 4>>;
    Mb mixed;
    mixed.initialize(rng);
    const auto xi = gradcheck::random_vector(batch * 5 * 5 * 4, rng);
    std::vector<float> out(batch * 5 * 5 * 9), pooled(batch * 5 * 5 * 4);
    mixed.forward(xi.data(), out.data(), batch, tn::Mode::infer);
    tn::AveragePooling2D<3, tn::Same, 1>::bind<Shape<5, 5, 4>, tn::cpu, "p"> pool;
    pool.forward(xi.data(), pooled.data(), batch, tn::Mode::infer);
    for (std::size_t p = 0; p < batch * 25; ++p)
        for (std::size_t c = 0; c < 4; ++c) BOOST_TEST(out[p * 9 + 3 + c] == pooled[p * 4 + c]);
}

BOOST_AUTO_TEST_CASE(the_models_own_layers) {
    ResNetLike model;
    // Summary: a row per layer of the block, then the merge layer, as Keras lists them.
    const std::string summary = tn::summary_string(model);
    for (const char* row : {"block1_0_conv (Conv2D)", "block1_1_bn (BatchNormaliz", "block1_add (Add)",
                            "block2_add (Add)", "re_lu_1 (ReLU)"})
        BOOST_TEST(summary.find(row) != std::string::npos, row << "\n" << summary);
    BOOST_TEST(summary.find("Total params: " + tn::thousands(ResNetLike::param_count)) != std::string::npos);
    // Weight names without the block's name, as in Keras.
    std::vector<std::string> names;
    model.for_each_weight([&](std::string_view path, const auto& w, bool) {
        names.push_back(std::string(path) + "/" + std::string(w.name));
    });
    BOOST_TEST((std::find(names.begin(), names.end(), "block1_1_bn/moving_variance") != names.end()));
    BOOST_TEST((std::find(names.begin(), names.end(), "block2_2_conv/kernel") != names.end()));
    // Flags reach into blocks, in the model's layer order.
    model.set_trainable_from("block2_1_conv");
    BOOST_TEST(!model.get<"block1_2_conv">().trainable);
    BOOST_TEST(model.get<"block2_1_conv">().trainable);
    constexpr std::size_t after = Bound<Identity, Shape<4, 4, 6>>::param_count + 14;
    BOOST_TEST(model.trainable_param_count() == after);
    model.set_trainable("block1_1_bn", true);
    BOOST_TEST(model.get<"block1_1_bn">().trainable);
}

BOOST_AUTO_TEST_CASE(layers_are_walked_in_keras_order) {
    // Keras lists a graph's layers farther from the merge first (ResNet-50's summary: 1_conv,
    // 1_bn, 1_relu, 2_conv, ..., 0_conv, 3_conv, 0_bn, 3_bn, add). The walk behind
    // set_trainable_from and the trainable table follows the functional summary's rows, which
    // tests/core/test_backbones.cpp checks against Keras's own ResNet-50 and MobileNetV2.
    using Functional = tn::Model<"functional", tn::Input<8, 7, 3>, Projection, tn::ReLU, Identity>;
    Functional model;
    std::vector<std::string> walked;
    model.for_each_layer([&](const auto& layer, int) {
        using L = std::remove_cvref_t<decltype(layer)>;
        if constexpr (!L::is_model) walked.push_back(std::string(L::name.view()));
    });
    const std::vector<std::string> keras{"block1_1_conv", "block1_1_bn", "block1_0_conv", "block1_1_relu",
                                         "block1_0_bn",   "block1_2_conv", "block1_add",  "re_lu_1",
                                         "block2_1_conv", "block2_2_conv", "block2_add"};
    BOOST_TEST(walked == keras, boost::test_tools::per_element());
    // The summary's rows, a separate code path (model/summary.hpp), in the same order.
    const std::string summary = tn::summary_string(model);
    std::size_t at = 0;
    for (const auto& name : keras) {
        const std::size_t found = summary.find("\n" + name + " (", at);
        BOOST_TEST_REQUIRE(found != std::string::npos, name << " after offset " << at << "\n" << summary);
        at = found + 1;
    }
    // Fine-tuning from the residual path's first layer trains the projection shortcut too.
    model.set_trainable_from("block1_1_conv");
    BOOST_TEST(model.get<"block1_0_conv">().trainable);
    BOOST_TEST(model.get<"block1_0_bn">().trainable);
    model.set_trainable_from("block1_1_relu");  // after block1_0_conv, before block1_0_bn
    BOOST_TEST(!model.get<"block1_0_conv">().trainable);
    BOOST_TEST(!model.get<"block1_1_bn">().trainable);
    BOOST_TEST(model.get<"block1_0_bn">().trainable);
    model.set_trainable_from("block1_0_bn");
    BOOST_TEST(!model.get<"block1_0_conv">().trainable);
    BOOST_TEST(!model.get<"block1_1_relu">().trainable);
    BOOST_TEST(model.get<"block1_2_conv">().trainable);
}

BOOST_AUTO_TEST_CASE(fit_reaches_the_layers_of_a_block) {
    // The trainer finds a block's parameters (the optimizer updates them) and leaves a
    // frozen one alone.
    ResNetLike model;
    model.set_trainable("block1_0_conv", false);
    const auto frozen = model.get<"block1_0_conv">().kernel().values();
    const auto learning = model.get<"block2_2_conv">().kernel().values();
    constexpr std::size_t n = 6;
    xt::xtensor<float, 2> x = xt::zeros<float>({n, ResNetLike::input_shape::size});
    xt::xtensor<float, 2> y = xt::zeros<float>({n, std::size_t{2}});
    tn::Random rng(11);
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < ResNetLike::input_shape::size; ++j) x(i, j) = rng.uniform(0.0f, 1.0f);
        y(i, i % 2) = 1.0f;
    }
    auto trainer = tn::compile(model, tn::CategoricalCrossentropy{}, tn::SGD{.learning_rate = 0.1f});
    trainer.fit(x, y, {.epochs = 1, .batch_size = n, .shuffle = false, .verbose = 0});
    BOOST_TEST(model.get<"block1_0_conv">().kernel().values() == frozen);
    BOOST_TEST(model.get<"block2_2_conv">().kernel().values() != learning);
}

BOOST_AUTO_TEST_SUITE_END()
