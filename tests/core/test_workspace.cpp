// After the first batch, a training step (forward + backward) allocates nothing:
// every global operator new is counted while steps run, and so is Buffer growth.
#include <boost/test/unit_test.hpp>

#include "count_allocations.hpp"

#include <vector>

#include "typenet/typenet.hpp"

using typenet_test::allocations;
using typenet_test::counting;

namespace tn = typenet;

BOOST_AUTO_TEST_CASE(training_step_allocates_nothing_after_the_first_batch) {
    using Net = tn::Sequential<tn::Input<20, 20, 3>, tn::Conv2D<8, 3, tn::ReLU>, tn::MaxPooling2D<2>,
                               tn::Conv2D<16, 3, tn::ReLU, tn::Same>, tn::MaxPooling2D<2>, tn::Flatten,
                               tn::Dense<32, tn::ReLU>, tn::Dropout<0.3f>, tn::Dense<1, tn::Sigmoid>>;
    Net model;
    constexpr std::size_t batch = 6;
    std::vector<float> x(batch * Net::input_shape::size, 0.25f), y(batch), dy(batch, 0.1f),
        dx(batch * Net::input_shape::size);

    auto step = [&](std::size_t n) {
        model.forward(x.data(), y.data(), n, tn::Mode::train);
        model.backward(x.data(), y.data(), dy.data(), dx.data(), n, false);
    };
    step(batch);  // the first batch sizes every workspace

    const std::size_t growth_before = tn::buffer_growth_count();
    allocations = 0;
    counting = true;
    for (int i = 0; i < 3; ++i) step(batch);
    step(batch - 2);  // a smaller last batch reuses the same workspace
    counting = false;
    BOOST_TEST(allocations.load() == 0u);
    BOOST_TEST(tn::buffer_growth_count() == growth_before);

    // Inference too.
    counting = true;
    model.forward(x.data(), y.data(), batch, tn::Mode::infer);
    counting = false;
    BOOST_TEST(allocations.load() == 0u);
}
