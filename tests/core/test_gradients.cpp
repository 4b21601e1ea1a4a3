// Every layer and activation against finite differences: input and parameter
// gradients, several shapes, 'valid' and 'same' (asymmetric when the pad is odd),
// strides, odd sizes; then whole models, nested ones included.
#include <boost/test/unit_test.hpp>

#include "gradient_check.hpp"
#include "typenet/typenet.hpp"

namespace tn = typenet;
using tn::Shape;

namespace {
template <class Spec, class In>
using Bound = typename Spec::template bind<In, tn::cpu, "layer_under_test">;
}

BOOST_AUTO_TEST_SUITE(gradients)

BOOST_AUTO_TEST_CASE(conv2d_valid_odd_sizes) {
    gradcheck::check<Bound<tn::Conv2D<4, 3, tn::ReLU>, Shape<7, 5, 3>>>("conv 3x3 valid relu 7x5x3", 1);
    gradcheck::check<Bound<tn::Conv2D<3, 3, tn::Linear>, Shape<5, 6, 2>>>("conv 3x3 valid linear 5x6x2", 2);
    gradcheck::check<Bound<tn::Conv2D<2, 2, tn::Sigmoid>, Shape<5, 5, 1>>>("conv 2x2 valid sigmoid", 3);
}

BOOST_AUTO_TEST_CASE(conv2d_same_padding) {
    gradcheck::check<Bound<tn::Conv2D<4, 3, tn::ReLU, tn::Same>, Shape<7, 5, 3>>>("conv 3x3 same relu", 4);
    // Kernel 4: total pad 3, one before and two after (TensorFlow's asymmetric 'same').
    gradcheck::check<Bound<tn::Conv2D<3, 4, tn::Linear, tn::Same>, Shape<6, 5, 2>>>("conv 4x4 same", 5);
    gradcheck::check<Bound<tn::Conv2D<2, 5, tn::Sigmoid, tn::Same>, Shape<4, 3, 2>>>("conv 5x5 same > input", 6);
}

BOOST_AUTO_TEST_CASE(conv2d_strides_and_pointwise) {
    gradcheck::check<Bound<tn::Conv2D<3, 3, tn::ReLU, tn::Same, 2>, Shape<7, 8, 2>>>("conv stride 2 same", 7);
    gradcheck::check<Bound<tn::Conv2D<3, 3, tn::Linear, tn::Valid, 2>, Shape<9, 7, 2>>>("conv stride 2 valid", 8);
    gradcheck::check<Bound<tn::Conv2D<5, 1, tn::Linear>, Shape<4, 3, 6>>>("conv 1x1", 9);
    gradcheck::check<Bound<tn::Conv2D<4, 3, tn::Softmax, tn::Same>, Shape<5, 5, 2>>>("conv softmax over filters", 10);
}

BOOST_AUTO_TEST_CASE(max_pooling) {
    gradcheck::check<Bound<tn::MaxPooling2D<2>, Shape<6, 6, 3>>>("pool 2", 11);
    gradcheck::check<Bound<tn::MaxPooling2D<2>, Shape<7, 5, 2>>>("pool 2 odd input (floor)", 12);
    gradcheck::check<Bound<tn::MaxPooling2D<3, 2>, Shape<7, 7, 2>>>("pool 3 stride 2 (overlapping)", 13);
}

BOOST_AUTO_TEST_CASE(dense_every_activation) {
    gradcheck::check<Bound<tn::Dense<5, tn::Linear>, Shape<7>>>("dense linear", 14);
    gradcheck::check<Bound<tn::Dense<5, tn::ReLU>, Shape<7>>>("dense relu", 15);
    gradcheck::check<Bound<tn::Dense<3, tn::Sigmoid>, Shape<6>>>("dense sigmoid", 16);
    gradcheck::check<Bound<tn::Dense<4, tn::Softmax>, Shape<6>>>("dense softmax", 17);
    gradcheck::check<Bound<tn::Dense<1, tn::Sigmoid>, Shape<9>>>("dense single sigmoid", 18, tn::Mode::train, 5);
}

BOOST_AUTO_TEST_CASE(flatten_and_dropout) {
    gradcheck::check<Bound<tn::Flatten, Shape<3, 4, 2>>>("flatten", 19);
    gradcheck::check<Bound<tn::Dropout<0.3f>, Shape<40>>>("dropout training", 20);
    gradcheck::check<Bound<tn::Dropout<0.5f>, Shape<4, 4, 2>>>("dropout training on images", 21);
    gradcheck::check<Bound<tn::Dropout<0.3f>, Shape<40>>>("dropout inference", 22, tn::Mode::infer);
}

BOOST_AUTO_TEST_CASE(whole_models) {
    using Small = tn::Sequential<tn::Input<8, 7, 2>, tn::Conv2D<3, 3, tn::ReLU, tn::Same>, tn::MaxPooling2D<2>,
                                 tn::Conv2D<4, 2, tn::Linear>, tn::Flatten, tn::Dropout<0.25f>,
                                 tn::Dense<3, tn::Softmax>>;
    gradcheck::check<Small>("small model", 23);

    using Backbone = tn::Model<"backbone", tn::Input<8, 8, 3>, tn::Conv2D<4, 3, tn::ReLU, tn::Same>, tn::MaxPooling2D<2>>;
    using Nested = tn::Sequential<tn::Input<8, 8, 2>, tn::Conv2D<3, 1, tn::Linear>, Backbone, tn::Flatten,
                                  tn::Dense<2, tn::Sigmoid>>;
    gradcheck::check<Nested>("nested model", 24);
}

BOOST_AUTO_TEST_SUITE_END()
