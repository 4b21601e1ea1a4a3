// The cases that need the installed Fashion-MNIST files (test_fashion_mnist, its own ctest
// entry: without the files it reports Skipped, see fashion_mnist_main.cpp). The learning path
// on real data: the Fashion-MNIST network of examples/fashion_mnist.cpp trained for one epoch
// on the first 3000 training images must score well above chance (10%) on the first 1000
// test images.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <sstream>
#include <vector>

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

BOOST_AUTO_TEST_CASE(fashion_mnist_short_run_learns) {
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

// The installed files read as the IDX reader promises (here, not in test_idx.cpp: it needs the data).
BOOST_AUTO_TEST_CASE(fashion_mnist_files) {
    const auto data = tn::load_fashion_mnist(tn::fashion_mnist_dir(), 500, 200);
    BOOST_TEST(data.train_images.shape()[0] == 500u);
    BOOST_TEST(data.train_images.shape()[1] == 28u);
    BOOST_TEST(data.train_images.shape()[3] == 1u);
    BOOST_TEST(data.test_labels.shape()[0] == 200u);
    float low = 1.0f, high = 0.0f;
    for (float v : data.train_images) {
        low = std::min(low, v);
        high = std::max(high, v);
    }
    BOOST_TEST(low == 0.0f);
    BOOST_TEST(high == 1.0f);
    std::vector<int> count(10, 0);
    for (float label : data.train_labels) ++count.at(static_cast<std::size_t>(label));
    for (int c : count) BOOST_TEST(c > 20);  // every class is there
    BOOST_TEST(tn::fashion_mnist_classes[9] == "Ankle boot");
    // The whole label file reads and checks: 60000 labels, no trailing bytes.
    BOOST_TEST(tn::read_idx_labels(tn::fashion_mnist_dir() / "train-labels-idx1-ubyte.gz").shape()[0] == 60000u);
}
