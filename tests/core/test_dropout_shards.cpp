// Dropout in data-parallel training: a rank whose slice starts at sample k of the global
// batch (set_first_sample) draws the mask one process draws for those samples, so the
// same seed gives the same masks whatever the number of ranks.
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <vector>

#include "typenet/layers/dropout.hpp"
#include "typenet/layers/input.hpp"
#include "typenet/model/sequential.hpp"

namespace tn = typenet;

namespace {
using Net = tn::Sequential<tn::Input<40>, tn::Dropout<0.5f>>;

std::vector<float> forward(Net& net, const std::vector<float>& x, std::size_t first, std::size_t count) {
    net.for_each_layer([&](auto& layer, int) {
        if constexpr (requires { layer.set_first_sample(std::uint64_t{}); }) layer.set_first_sample(first);
    });
    std::vector<float> y(count * 40);
    net.forward(x.data() + first * 40, y.data(), count, tn::Mode::train);
    return y;
}
}  // namespace

BOOST_AUTO_TEST_CASE(dropout_masks_follow_the_global_sample_index) {
    std::vector<float> x(7 * 40, 1.0f);
    Net one{3}, rank0{3}, rank1{3};
    for (int step = 0; step < 3; ++step) {  // the masks change every step, and stay in step
        const std::vector<float> whole = forward(one, x, 0, 7);
        const std::vector<float> a = forward(rank0, x, 0, 3), b = forward(rank1, x, 3, 4);
        std::vector<float> joined = a;
        joined.insert(joined.end(), b.begin(), b.end());
        BOOST_CHECK(joined == whole);
        std::size_t dropped = 0;
        for (float v : whole) dropped += v == 0.0f ? 1 : 0;
        BOOST_CHECK(dropped > 60 && dropped < 220);  // about half of 280
    }
    // Without the offset, rank 1 would draw rank 0's mask: the test above would fail.
    Net shifted{3}, reference{3};
    const std::vector<float> from_zero = forward(shifted, x, 0, 4), from_three = forward(reference, x, 3, 4);
    BOOST_CHECK(from_zero != from_three);
}
