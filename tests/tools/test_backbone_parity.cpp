// Keras's own ResNet and MobileNetV2 blocks against typenet's zoo, end to end: two small
// networks that tests/fixtures/make_backbone_fixtures.py built with Keras's block functions
// (resnet.py's stack_residual_blocks_v1, mobilenet_v2.py's _inverted_res_block) and seeded
// random weights (moving statistics included), saved in Keras 2's HDF5 layout and by Keras
// 3's legacy writer. Each goes through convert_keras_weights, then three images through
// typenet-features' pipeline (read_image_into: load_img's nearest resize; the application's
// preprocess_input; the forward pass in inference mode), and must give Keras's
// model.predict within 1e-4 of the largest value (the full-size check, 1e-3, needs Keras:
// tools/check_backbone_parity.sh).
#define BOOST_TEST_MODULE test_backbone_parity
#include <boost/test/unit_test.hpp>

#include "scratch_directory.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <utility>
#include <string>
#include <vector>

#include "typenet/data/image_files.hpp"
#include "typenet/data/image_loading.hpp"
#include "typenet/data/preprocessing.hpp"
#include "typenet/io/keras_hdf5.hpp"
#include "typenet/io/npy.hpp"
#include "typenet/io/weights.hpp"
#include "typenet/zoo/mobilenet.hpp"
#include "typenet/zoo/resnet.hpp"

namespace tn = typenet;
namespace fs = std::filesystem;
using namespace tn;  // the layer names, as a model is written

namespace {

// resnet_mini(): Keras's stem, then conv2 (2 blocks of 4 filters, stride 1) and conv3
// (2 blocks of 8 filters, stride 2), as ResNet50Base writes its stages.
using ResNetMini = Model<"resnet_mini", Input<32, 32, 3>, zoo::ResNetStem, zoo::ResNetStage<2, 2, 4, 1>,
                         zoo::ResNetStage<3, 2, 8>>;
static_assert(ResNetMini::param_count == 15'008);  // Keras's count_params()
static_assert(std::is_same_v<ResNetMini::output_shape, Shape<4, 4, 32>>);

// mobilenet_mini(): MobileNetV2's stem, blocks 0, 1 (stride 2 on an odd size) and 2 (an Add).
using MobileNetMini =
    Model<"mobilenet_mini", Input<37, 37, 3>, Conv2D<32, 3, Linear, Same, 2, "Conv1", NoBias>,
          BatchNormalization<0.999f, 1e-3f, "bn_Conv1">, ReLUMax<6.0f, "Conv1_relu">, zoo::InvertedResidual<0, 32, 16>,
          zoo::InvertedResidual<1, 16, 8, 2>, zoo::InvertedResidual<2, 8, 8>,
          Conv2D<32, 1, Linear, Valid, "Conv_1", LayerOption{}, NoBias>, BatchNormalization<0.999f, 1e-3f, "Conv_1_bn">,
          ReLUMax<6.0f, "out_relu">>;
static_assert(MobileNetMini::param_count == 7'952);
static_assert(std::is_same_v<MobileNetMini::output_shape, Shape<10, 10, 32>>);

const fs::path fixtures(TYPENET_FIXTURES_DIR);

template <class M>
void check_against_keras(const std::string& h5, const std::string& features, Preprocessing preprocessing) {
    typenet_test::ScratchDirectory dir;
    const fs::path weights = dir / "weights.safetensors";
    tn::io::convert_keras_weights<M>(fixtures / "keras" / h5, weights);
    auto model = std::make_unique<M>(no_initialization);
    tn::io::load_weights(*model, weights);

    using In = typename M::input_shape;
    using Out = typename M::output_shape;
    const std::vector<fs::path> images = list_image_files(fixtures / "images" / "backbone").paths;
    BOOST_TEST_REQUIRE(images.size() == 3u);
    std::vector<float> x(images.size() * In::size), y(images.size() * Out::size);
    for (std::size_t i = 0; i < images.size(); ++i)
        read_image_into(images[i], {dim_or_one<In, 0>, dim_or_one<In, 1>, 3}, x.data() + i * In::size,
                        Interpolation::nearest, 1.0f);
    preprocess_input(x.data(), x.size(), 3, preprocessing);
    model->forward(x.data(), y.data(), images.size(), Mode::infer);

    const tn::io::NpyArray keras = tn::io::read_npy(fixtures / "keras" / features);
    BOOST_TEST_REQUIRE((keras.shape == std::vector<std::size_t>{images.size(), dim_or_one<Out, 0>, dim_or_one<Out, 1>,
                                                                 dim_or_one<Out, 2>}));
    float largest = 0.0f, worst = 0.0f;
    for (std::size_t i = 0; i < y.size(); ++i) {
        largest = std::max(largest, std::abs(keras.values[i]));
        worst = std::max(worst, std::abs(keras.values[i] - y[i]));
    }
    BOOST_TEST_MESSAGE(h5 << ": largest |keras| " << largest << ", largest |difference| " << worst << " ("
                          << worst / largest << " of the largest)");
    BOOST_TEST(largest > 0.1f);
    BOOST_TEST(worst <= 1e-4f * largest, h5 << ": differs from Keras by " << worst << ", largest value " << largest);
}

}  // namespace

BOOST_AUTO_TEST_CASE(resnet_blocks_match_keras) {
    check_against_keras<ResNetMini>("resnet_mini_keras2.h5", "resnet_mini_features.npy", zoo::resnet50_preprocessing);
}

BOOST_AUTO_TEST_CASE(mobilenetv2_blocks_match_keras) {
    check_against_keras<MobileNetMini>("mobilenet_mini.h5", "mobilenet_mini_features.npy",
                                       zoo::mobilenetv2_preprocessing);
}

// load_img's nearest resize is PIL's Image.resize(NEAREST): a running double sum of the scale,
// truncated, which differs from floor((x + 0.5) * scale) on some rows and columns. Each source
// pixel holds its own (x, y), so the comparison says which pixel was picked.
BOOST_AUTO_TEST_CASE(nearest_resize_picks_the_pixels_pil_picks) {
    const fs::path folder = fixtures / "images" / "pil_nearest";
    for (auto [w, h] : {std::pair{150, 150}, std::pair{224, 224}, std::pair{37, 41}}) {
        const cv::Mat ours = read_image(folder / "source.png", {std::size_t(h), std::size_t(w), 3});
        const cv::Mat pil = decode_image(folder / ("expected_" + std::to_string(w) + "x" + std::to_string(h) + ".png"));
        BOOST_TEST_REQUIRE((ours.size() == pil.size()));
        BOOST_TEST(cv::norm(ours, pil, cv::NORM_INF) == 0.0, w << "x" << h);
    }
    // 130 -> 150 rows and 200 -> 150 columns are where the two rules part.
    const std::vector<int> rows = tn::detail::pil_nearest_sources(200, 150);
    BOOST_TEST(rows[4] == 5);  // (4 + 0.5) * 4 / 3 = 6 exactly; PIL's sum stops just below
}
