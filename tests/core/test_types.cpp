// Compile-time face of models: shapes, parameter counts, names, as Keras computes them.
#include <boost/test/unit_test.hpp>

#include <type_traits>

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
