// Compile-time face of models: shapes, parameter counts, names, as Keras computes them.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "files.hpp"
#include "typenet/typenet.hpp"
#include "typenet/zoo/vgg.hpp"

namespace tn = typenet;

namespace {
using BasicCNN = tn::Sequential<tn::Input<150, 150, 3>, tn::Conv2D<16, 3, tn::ReLU>, tn::MaxPooling2D<2>,
                                tn::Conv2D<64, 3, tn::ReLU>, tn::MaxPooling2D<2>, tn::Conv2D<128, 3, tn::ReLU>,
                                tn::MaxPooling2D<2>, tn::Flatten, tn::Dense<512, tn::ReLU>, tn::Dense<1, tn::Sigmoid>>;
static_assert(BasicCNN::param_count == 19'024'513);
static_assert(std::is_same_v<BasicCNN::output_shape, tn::Shape<1>>);
static_assert(std::is_same_v<BasicCNN::layer_type<5>::output_shape, tn::Shape<17, 17, 128>>);
static_assert(BasicCNN::layer_names[0] == tn::FixedString("conv2d_1"));
static_assert(BasicCNN::layer_names[3] == tn::FixedString("max_pooling2d_2"));
static_assert(BasicCNN::layer_names[8] == tn::FixedString("dense_2"));
}  // namespace

BOOST_AUTO_TEST_CASE(basic_cnn_shapes_at_run_time) {
    BasicCNN model;
    BOOST_TEST(model.trainable_param_count() == 19'024'513u);
}

// ---- Names ---------------------------------------------------------------------------
namespace {
using Backbone = tn::Model<"backbone", tn::Input<16, 16, 3>, tn::Conv2D<4, 3, tn::ReLU, tn::Same, "stem">,
                           tn::MaxPooling2D<2, "stem_pool">>;
using Inner = tn::Sequential<tn::Input<8, 8, 4>, tn::Conv2D<4, 3, tn::ReLU, tn::Same>>;
using Outer = tn::Sequential<tn::Input<16, 16, 3>, Backbone, Inner, tn::Named<"features", tn::Flatten>,
                             tn::Dense<8, tn::ReLU>, tn::Dense<1, tn::Sigmoid, "score">>;

// Explicit names, Keras automatic names counted per prefix, nested models as one layer.
static_assert(Outer::layer_names[0] == tn::FixedString("backbone"));
static_assert(Outer::layer_names[1] == tn::FixedString("sequential_1"));
static_assert(Outer::layer_names[2] == tn::FixedString("features"));
static_assert(Outer::layer_names[3] == tn::FixedString("dense_1"));
static_assert(Outer::layer_names[4] == tn::FixedString("score"));
static_assert(Outer::param_count == (27 * 4 + 4) + (36 * 4 + 4) + (256 + 1) * 8 + 9);
static_assert(Outer::contains<"stem_pool">() && !Outer::contains<"nothing">());

// Stride and name are options in either order.
using StridedNamed = tn::Conv2D<8, 3, tn::ReLU, tn::Same, 2, "down">;
using NamedStrided = tn::Conv2D<8, 3, tn::ReLU, tn::Same, "down", 2>;
static_assert(StridedNamed::stride == 2 && NamedStrided::stride == 2);
static_assert(StridedNamed::explicit_name == tn::FixedString("down"));
static_assert(tn::MaxPooling2D<3, 2>::stride == 2 && tn::MaxPooling2D<2>::stride == 2);
using Strided = tn::Sequential<tn::Input<7, 7, 2>, StridedNamed>;
static_assert(std::is_same_v<Strided::output_shape, tn::Shape<4, 4, 8>>);  // ceil(7 / 2)

// The VGG zoo writes Keras's names from blocks.
using Vgg = tn::zoo::VGG16Base<32, 32>;
static_assert(Vgg::layer_names[0] == tn::FixedString("block1_conv1"));
static_assert(Vgg::layer_names[2] == tn::FixedString("block1_pool"));
static_assert(Vgg::layer_names[17] == tn::FixedString("block5_pool"));
static_assert(std::is_same_v<Vgg::output_shape, tn::Shape<1, 1, 512>>);
static_assert(tn::zoo::VGG19Base<224, 224>::param_count == 20'024'384);
}  // namespace

BOOST_AUTO_TEST_CASE(find_layers_by_name) {
    Outer model;
    auto& stem = model.get<"stem">();
    BOOST_TEST(stem.kernel().shape_string() == "(3, 3, 3, 4)");
    BOOST_TEST(std::string(model.get<"score">().name.view()) == "score");
    BOOST_CHECK_THROW(model.set_trainable("no_such_layer", false), std::invalid_argument);
    // message_of fails the test when nothing is thrown.
    const std::string missing = typenet_test::message_of<std::invalid_argument>([&] { model.set_trainable_from("missing"); });
    BOOST_TEST(missing.find("no layer named 'missing'") != std::string::npos, missing);
    BOOST_TEST(missing.find("stem_pool") != std::string::npos, missing);  // lists what exists
}

BOOST_AUTO_TEST_CASE(parameter_paths_name_nested_models) {
    Outer model;
    std::vector<std::string> paths;
    model.for_each_parameter([&](std::string_view path, auto& p, bool) {
        paths.push_back(std::string(path) + "/" + std::string(p.name));
    });
    const std::vector<std::string> expected{"backbone/stem/kernel",  "backbone/stem/bias", "sequential_1/conv2d_1/kernel",
                                            "sequential_1/conv2d_1/bias", "dense_1/kernel",     "dense_1/bias",
                                            "score/kernel",          "score/bias"};
    BOOST_TEST(paths == expected, boost::test_tools::per_element());
}

// ---- Trainable flags and the backward they imply ---------------------------------------
BOOST_AUTO_TEST_CASE(trainable_flags_keras_style) {
    Outer model;
    BOOST_TEST(model.trainable_param_count() == Outer::param_count);
    model.get<"backbone">().set_trainable(false);
    BOOST_TEST(model.trainable_param_count() == Outer::param_count - (27 * 4 + 4));
    BOOST_TEST(model.first_learning_layer() == 1u);
    model.set_trainable_from("dense_1");
    BOOST_TEST(model.trainable_param_count() == (256u + 1) * 8 + 9);
    BOOST_TEST(model.first_learning_layer() == 3u);
    model.set_trainable(false);
    BOOST_TEST(model.trainable_param_count() == 0u);
    BOOST_TEST(model.first_learning_layer() == Outer::layer_count);
    const std::string table = tn::trainable_table_string(model);
    BOOST_TEST(table.find("Conv2D        stem        False\n") != std::string::npos, table);
}

BOOST_AUTO_TEST_CASE(frozen_prefix_gets_no_backward_work) {
    // Gradient buffers of frozen layers are poisoned before backward; a backward that
    // touched them (computed gradients nobody uses) would overwrite the poison.
    Outer model;
    model.get<"backbone">().set_trainable(false);
    constexpr std::size_t batch = 3;
    std::vector<float> x(batch * Outer::input_shape::size, 0.5f), y(batch), dy(batch, 1.0f);
    const std::vector<float> poison(27 * 4, 1234.5f);
    model.get<"stem">().kernel().grad.upload(poison.data(), poison.size());
    model.forward(x.data(), y.data(), batch, tn::Mode::train);
    model.backward(x.data(), y.data(), dy.data(), nullptr, batch, false);
    BOOST_TEST(model.get<"stem">().kernel().gradients() == poison, boost::test_tools::per_element());
    // ...while the trainable layers did get gradients.
    const auto g = model.get<"score">().kernel().gradients();
    BOOST_TEST(std::any_of(g.begin(), g.end(), [](float v) { return v != 0.0f; }));
}
