// Vectorised max pooling against a one-element-at-a-time reference: identical values
// and identical argmax (first maximum of the window wins ties), odd sizes, channel
// counts that are not multiples of 16, overlapping and gapped windows; backward scatters
// to exactly those positions.
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <limits>
#include <vector>

#include "reference.hpp"
#include "typenet/backend/cpu/kernels.hpp"

namespace tn = typenet;
namespace ck = typenet::cpu_kernels;

namespace {

tn::PoolGeometry pool_geometry(std::size_t h, std::size_t w, std::size_t c, std::size_t pool, std::size_t stride) {
    return {h, w, c, pool, pool, stride, stride, (h - pool) / stride + 1, (w - pool) / stride + 1};
}

void reference_pool(const tn::PoolGeometry& g, const std::vector<float>& x, std::size_t batch, std::vector<float>& y,
                    std::vector<std::int32_t>& argmax) {
    y.assign(batch * g.out_size(), 0.0f);
    argmax.assign(batch * g.out_size(), -1);
    for (std::size_t n = 0; n < batch; ++n)
        for (std::size_t i = 0; i < g.out_h; ++i)
            for (std::size_t j = 0; j < g.out_w; ++j)
                for (std::size_t c = 0; c < g.channels; ++c) {
                    const std::size_t o = n * g.out_size() + (i * g.out_w + j) * g.channels + c;
                    bool first = true;
                    for (std::size_t a = 0; a < g.pool_h; ++a)
                        for (std::size_t b = 0; b < g.pool_w; ++b) {
                            const std::size_t at = ((i * g.stride_h + a) * g.in_w + j * g.stride_w + b) * g.channels + c;
                            const float v = x[n * g.in_size() + at];
                            if (first || v > y[o]) {
                                y[o] = v;
                                argmax[o] = static_cast<std::int32_t>(at);
                            }
                            first = false;
                        }
                }
}

}  // namespace

BOOST_AUTO_TEST_CASE(max_pooling_matches_reference_values_and_argmax) {
    struct Case {
        std::size_t h, w, c, pool, stride, batch;
    };
    for (const Case s : {Case{8, 8, 16, 2, 2, 2}, Case{9, 7, 19, 2, 2, 3}, Case{11, 10, 5, 3, 2, 2},
                         Case{7, 7, 33, 2, 1, 1}, Case{10, 13, 64, 2, 3, 2}, Case{5, 5, 1, 5, 5, 2}}) {
        const tn::PoolGeometry g = pool_geometry(s.h, s.w, s.c, s.pool, s.stride);
        auto x = cpu_test::random_values(s.batch * g.in_size(), 11);
        // Ties: quantise so that equal maxima occur often in the same window.
        for (auto& v : x) v = float(int(v * 3.0f));
        std::vector<float> y(s.batch * g.out_size());
        std::vector<std::int32_t> argmax(s.batch * g.out_size());
        ck::maxpool_forward(g, x.data(), s.batch, y.data(), argmax.data());
        std::vector<float> y_ref;
        std::vector<std::int32_t> argmax_ref;
        reference_pool(g, x, s.batch, y_ref, argmax_ref);
        BOOST_TEST_INFO(s.h << "x" << s.w << "x" << s.c << " pool " << s.pool << " stride " << s.stride);
        BOOST_TEST(y == y_ref, boost::test_tools::per_element());
        BOOST_TEST(argmax == argmax_ref, boost::test_tools::per_element());

        const auto dy = cpu_test::random_values(s.batch * g.out_size(), 12);
        std::vector<float> dx(s.batch * g.in_size(), 5.0f), dx_ref(s.batch * g.in_size(), 0.0f);
        ck::maxpool_backward(g, dy.data(), argmax.data(), s.batch, dx.data());
        for (std::size_t n = 0; n < s.batch; ++n)
            for (std::size_t i = 0; i < g.out_size(); ++i)
                dx_ref[n * g.in_size() + argmax_ref[n * g.out_size() + i]] += dy[n * g.out_size() + i];
        BOOST_TEST(dx == dx_ref, boost::test_tools::per_element());
    }
}

BOOST_AUTO_TEST_CASE(max_pooling_keeps_a_nan_that_wins_the_first_position) {
    const tn::PoolGeometry g = pool_geometry(2, 2, 1, 2, 2);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> x{nan, 1.0f, 2.0f, 3.0f}, y(1);
    std::vector<std::int32_t> argmax(1);
    ck::maxpool_forward(g, x.data(), 1, y.data(), argmax.data());
    BOOST_TEST(std::isnan(y[0]));
    BOOST_TEST(argmax[0] == 0);
    x = {1.0f, nan, 3.0f, 2.0f};  // a NaN later in the window never wins
    ck::maxpool_forward(g, x.data(), 1, y.data(), argmax.data());
    BOOST_TEST(y[0] == 3.0f);
    BOOST_TEST(argmax[0] == 2);
}
