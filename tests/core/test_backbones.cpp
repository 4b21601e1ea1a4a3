// zoo::ResNet50Base and zoo::MobileNetV2Base against what Keras 3's applications build
// (keras.applications.ResNet50 / MobileNetV2, include_top=False, weights=None): parameter
// counts, output shapes at several input sizes, Keras's layer names and layer counts
// (Keras's len(model.layers) includes its InputLayer), MobileNetV2's correct_pad, and a
// forward pass that runs.
#define BOOST_TEST_MODULE test_backbones
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "typenet/typenet.hpp"
#include "typenet/zoo/mobilenet.hpp"
#include "typenet/zoo/resnet.hpp"

namespace tn = typenet;
using tn::Shape;

// The counts Keras prints (count_params; non-trainable: the moving statistics).
static_assert(tn::zoo::ResNet50Base<224, 224>::param_count == 23'587'712);
static_assert(tn::zoo::ResNet50Base<224, 224>::state_count == 53'120);
static_assert(tn::zoo::MobileNetV2Base<224, 224>::param_count == 2'257'984);
static_assert(tn::zoo::MobileNetV2Base<224, 224>::state_count == 34'112);
// Output shapes Keras gives for 224, 150, 75 and 32 pixels.
static_assert(std::is_same_v<tn::zoo::ResNet50Base<224, 224>::output_shape, Shape<7, 7, 2048>>);
static_assert(std::is_same_v<tn::zoo::ResNet50Base<150, 150>::output_shape, Shape<5, 5, 2048>>);
static_assert(std::is_same_v<tn::zoo::ResNet50Base<75, 75>::output_shape, Shape<3, 3, 2048>>);
static_assert(std::is_same_v<tn::zoo::ResNet50Base<32, 32>::output_shape, Shape<1, 1, 2048>>);
static_assert(std::is_same_v<tn::zoo::MobileNetV2Base<224, 224>::output_shape, Shape<7, 7, 1280>>);
static_assert(std::is_same_v<tn::zoo::MobileNetV2Base<150, 150>::output_shape, Shape<5, 5, 1280>>);
static_assert(std::is_same_v<tn::zoo::MobileNetV2Base<75, 75>::output_shape, Shape<3, 3, 1280>>);
static_assert(std::is_same_v<tn::zoo::MobileNetV2Base<32, 32>::output_shape, Shape<1, 1, 1280>>);
static_assert(tn::zoo::MobileNetV2Base<150, 150>::name == tn::FixedString("mobilenetv2_1.00_150"));

namespace {

template <class M>
std::vector<std::string> names_of(const M& model) {
    std::vector<std::string> names;
    model.for_each_layer([&](const auto& layer, int) { names.emplace_back(layer.name.view()); });
    return names;
}

// The padding the ZeroPadding2D named `name` adds, as ((top, bottom), (left, right)).
template <class M>
std::string padding_of(const M& model, const std::string& name) {
    std::string found;
    model.for_each_layer([&](const auto& layer, int) {
        using L = std::remove_cvref_t<decltype(layer)>;
        if (std::string(layer.name.view()) != name) return;
        constexpr std::size_t in_h = tn::dim_or_one<typename L::input_shape, 0>, in_w = tn::dim_or_one<typename L::input_shape, 1>;
        constexpr std::size_t out_h = tn::dim_or_one<typename L::output_shape, 0>, out_w = tn::dim_or_one<typename L::output_shape, 1>;
        // correct_pad always puts one row at the bottom and one column on the right.
        found = "((" + std::to_string(out_h - in_h - 1) + ", 1), (" + std::to_string(out_w - in_w - 1) + ", 1))";
    });
    return found;
}

}  // namespace

BOOST_AUTO_TEST_CASE(resnet50_layers_have_keras_names) {
    auto model = std::make_unique<tn::zoo::ResNet50Base<32, 32>>();
    const auto names = names_of(*model);
    BOOST_TEST(names.size() + 1 == 175u);  // Keras: 175 layers with its InputLayer
    BOOST_TEST(names.front() == "conv1_pad");
    BOOST_TEST(names.back() == "conv5_block3_out");
    const std::set<std::string> unique(names.begin(), names.end());
    BOOST_TEST(unique.size() == names.size());
    for (const char* n : {"conv1_conv", "conv1_bn", "conv1_relu", "pool1_pad", "pool1_pool", "conv2_block1_0_conv",
                          "conv3_block4_3_bn", "conv4_block6_add", "conv5_block1_0_bn", "conv5_block3_2_relu"})
        BOOST_TEST(unique.count(n) == 1u, n);
    BOOST_TEST(unique.count("conv2_block2_0_conv") == 0u);  // identity shortcut after the first block
    BOOST_TEST(model->trainable_param_count() == 23'587'712u - 53'120u);
}

BOOST_AUTO_TEST_CASE(mobilenetv2_layers_have_keras_names_and_correct_pad) {
    auto model = std::make_unique<tn::zoo::MobileNetV2Base<150, 150>>();
    const auto names = names_of(*model);
    BOOST_TEST(names.size() + 1 == 154u);  // Keras: 154 layers with its InputLayer
    BOOST_TEST(names.front() == "Conv1");
    BOOST_TEST(names.back() == "out_relu");
    const std::set<std::string> unique(names.begin(), names.end());
    BOOST_TEST(unique.size() == names.size());
    for (const char* n : {"bn_Conv1", "Conv1_relu", "expanded_conv_depthwise", "expanded_conv_project_BN", "block_1_pad",
                          "block_2_add", "block_16_project_BN", "Conv_1", "Conv_1_bn"})
        BOOST_TEST(unique.count(n) == 1u, n);
    BOOST_TEST(unique.count("block_10_add") == 0u);  // 64 -> 96 channels: no Add
    BOOST_TEST(model->trainable_param_count() == 2'257'984u - 34'112u);
    // Keras 3's correct_pad at 150x150: (75 -> 38 -> 19 -> 10 pixels before blocks 1, 3, 6, 13).
    BOOST_TEST(padding_of(*model, "block_1_pad") == "((1, 1), (1, 1))");
    BOOST_TEST(padding_of(*model, "block_3_pad") == "((0, 1), (0, 1))");
    BOOST_TEST(padding_of(*model, "block_6_pad") == "((1, 1), (1, 1))");
    auto at75 = std::make_unique<tn::zoo::MobileNetV2Base<75, 75>>(tn::no_initialization);
    BOOST_TEST(padding_of(*at75, "block_1_pad") == "((0, 1), (0, 1))");  // 38 -> even
    BOOST_TEST(padding_of(*at75, "block_3_pad") == "((1, 1), (1, 1))");  // 19 -> odd
}

// Inference through every layer: the output has the right size, is finite, and does not
// depend on the batch it came with (BatchNormalization uses its moving statistics).
template <class M>
void check_forward() {
    auto model = std::make_unique<M>();
    constexpr std::size_t in = M::input_shape::size, out = M::output_shape::size;
    std::vector<float> x(2 * in), y(2 * out), y1(out);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 37) % 255) / 127.5f - 1.0f;
    model->forward(x.data(), y.data(), 2, tn::Mode::infer);
    model->forward(x.data() + in, y1.data(), 1, tn::Mode::infer);
    BOOST_TEST(std::all_of(y.begin(), y.end(), [](float v) { return std::isfinite(v); }));
    BOOST_TEST(std::any_of(y.begin(), y.end(), [](float v) { return v != 0.0f; }));
    // Within 1e-5 of the largest value: a batch of one takes other summation orders.
    float largest = 0.0f, worst = 0.0f;
    for (std::size_t i = 0; i < out; ++i) {
        largest = std::max(largest, std::abs(y1[i]));
        worst = std::max(worst, std::abs(y[out + i] - y1[i]));
    }
    BOOST_TEST(largest > 0.0f);
    BOOST_TEST(worst <= 1e-5f * largest);
}

BOOST_AUTO_TEST_CASE(resnet50_forward_runs) { check_forward<tn::zoo::ResNet50Base<32, 32>>(); }
BOOST_AUTO_TEST_CASE(mobilenetv2_forward_runs) { check_forward<tn::zoo::MobileNetV2Base<33, 35>>(); }

// Each backbone's preprocessing, as Keras's preprocess_input for it computes.
BOOST_AUTO_TEST_CASE(backbone_preprocessing) {
    static_assert(tn::zoo::resnet50_preprocessing == tn::Preprocessing::caffe);
    static_assert(tn::zoo::mobilenetv2_preprocessing == tn::Preprocessing::tf);
    std::vector<float> rgb{0.0f, 127.5f, 255.0f, 10.0f, 20.0f, 30.0f};
    auto tf = rgb;
    tn::preprocess_input(tf.data(), tf.size(), 3, tn::zoo::mobilenetv2_preprocessing);
    BOOST_TEST(tf[0] == -1.0f);
    BOOST_TEST(tf[1] == 0.0f);
    BOOST_TEST(tf[2] == 1.0f);
    BOOST_TEST(tf[3] == 10.0f / 127.5f - 1.0f);
    auto caffe = rgb;
    tn::preprocess_input(caffe.data(), caffe.size(), 3, tn::zoo::resnet50_preprocessing);
    BOOST_TEST(caffe[0] == 255.0f - 103.939f);  // B first
    BOOST_TEST(caffe[2] == 0.0f - 123.68f);
    BOOST_TEST(caffe[5] == 10.0f - 123.68f);
    BOOST_TEST((tn::parse_preprocessing("tf") == tn::Preprocessing::tf));
    BOOST_TEST(std::string(tn::to_string(tn::Preprocessing::tf)) == "tf");
}

// The golden summaries: Keras 3's layers, order, shapes, counts and connections, laid out as
// Keras 2.2 prints a functional model (tests/fixtures/make_backbone_fixtures.py).
namespace {
void check_summary(const std::string& got, const std::string& file) {
    std::ifstream in(std::string(TYPENET_FIXTURES_DIR) + "/summaries/" + file);
    BOOST_REQUIRE_MESSAGE(in, "missing fixture " << file);
    std::stringstream want;
    want << in.rdbuf();
    std::istringstream a(got), b(want.str());
    std::string la, lb;
    for (int line = 1; std::getline(b, lb); ++line) {
        BOOST_REQUIRE_MESSAGE(std::getline(a, la), file << ": summary ends before line " << line);
        BOOST_TEST(la == lb, file << " line " << line);
    }
    BOOST_TEST(!std::getline(a, la), file << ": summary has extra lines");
}

// The layers' names in the order Keras's summary lists them (its model.layers), input_1 left out.
std::vector<std::string> keras_order(const std::string& file) {
    std::ifstream in(std::string(TYPENET_FIXTURES_DIR) + "/summaries/" + file);
    std::vector<std::string> names;
    for (std::string line; std::getline(in, line);) {
        const std::size_t type = line.find(" (");
        if (line.empty() || line[0] == ' ' || line[0] == '_' || line[0] == '=' || type == std::string::npos) continue;
        const std::string name = line.substr(0, type);
        if (name != "Layer" && name != "input_1") names.push_back(name);
    }
    return names;
}
}  // namespace

BOOST_AUTO_TEST_CASE(resnet50_summary_matches_keras) {
    auto model = std::make_unique<tn::zoo::ResNet50Base<224, 224>>(tn::no_initialization);
    check_summary(tn::summary_string(*model), "resnet50_base_224.txt");
    // The model walks its layers in Keras's order too (set_trainable_from, print_trainable):
    // conv2_block1_0_conv after conv2_block1_2_relu.
    const auto keras = keras_order("resnet50_base_224.txt");
    BOOST_TEST(keras.size() == 174u);
    BOOST_TEST(names_of(*model) == keras, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(mobilenetv2_summary_matches_keras) {
    auto model = std::make_unique<tn::zoo::MobileNetV2Base<150, 150>>(tn::no_initialization);
    check_summary(tn::summary_string(*model), "mobilenetv2_base_150.txt");
    const auto keras = keras_order("mobilenetv2_base_150.txt");
    BOOST_TEST(keras.size() == 153u);
    BOOST_TEST(names_of(*model) == keras, boost::test_tools::per_element());
}
