// The learning path on real data: the Fashion-MNIST network of examples/fashion_mnist.cpp
// trained for one epoch on the first 3000 training images must score well above chance
// (10%) on the first 1000 test images. Skipped when the dataset is not installed.
#include <boost/test/unit_test.hpp>

#include <sstream>

#include "support.hpp"
#include "typenet/data/idx.hpp"
#include "typenet/train/predict.hpp"
#include "typenet/train/trainer.hpp"
#include "typenet/typenet.hpp"

namespace tn = typenet;

namespace {
// The same network as examples/fashion_mnist.cpp.
using FashionNet = tn::Sequential<tn::Input<28, 28, 1>, tn::Conv2D<32, 3, tn::ReLU>, tn::MaxPooling2D<2>,
                                  tn::Conv2D<64, 3, tn::ReLU>, tn::MaxPooling2D<2>, tn::Flatten,
                                  tn::Dense<128, tn::ReLU>, tn::Dropout<0.3f>, tn::Dense<10, tn::Softmax>>;

}  // namespace

BOOST_AUTO_TEST_CASE(fashion_mnist_short_run_learns, *boost::unit_test::precondition(train_test::fashion_mnist_installed)) {
    const tn::FashionMnist data = tn::load_fashion_mnist(tn::fashion_mnist_dir(), 3000, 1000);
    FashionNet model{42};
    auto trainer = tn::compile(model, tn::SparseCategoricalCrossentropy{}, tn::Adam{});
    tn::ArraySource test(data.test_images, data.test_labels);
    std::ostringstream log;
    const tn::History history = trainer.fit(data.train_images, data.train_labels,
                                            {.epochs = 1, .batch_size = 32, .validation = &test, .seed = 1,
                                             .verbose = 2, .out = &log});
    BOOST_TEST_MESSAGE(log.str());
    BOOST_TEST(history.val_accuracy.back() > 0.6, "test accuracy " << history.val_accuracy.back());
    BOOST_TEST(history.loss.back() < 2.0);  // below chance's log(10) = 2.30
    const std::vector<int> predicted = tn::predict_classes(model, data.test_images);
    std::size_t hits = 0;
    for (std::size_t i = 0; i < predicted.size(); ++i) hits += predicted[i] == static_cast<int>(data.test_labels(i));
    BOOST_TEST(static_cast<double>(hits) / predicted.size() == history.val_accuracy.back(), boost::test_tools::tolerance(1e-9));
}
