// Forward values: small cases worked by hand, and the im2col + GEMM convolution
// against a straightforward direct convolution written here from the definitions
// in keras-semantics.md (cross-correlation, TensorFlow 'same' padding).
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "typenet/typenet.hpp"

namespace tn = typenet;
using tn::Shape;

namespace {

template <class Spec, class In>
using Bound = typename Spec::template bind<In, tn::cpu, "layer_under_test">;

template <class Layer>
std::vector<float> run(Layer& layer, const std::vector<float>& x, std::size_t batch,
                       tn::Mode mode = tn::Mode::infer) {
    std::vector<float> y(batch * Layer::output_shape::size);
    layer.forward(x.data(), y.data(), batch, mode);
    return y;
}

// Direct NHWC cross-correlation, padding from TensorFlow's rule, written independently
// of the library's geometry code.
std::vector<float> direct_conv(const std::vector<float>& x, std::size_t batch, std::size_t h, std::size_t w,
                               std::size_t c, const std::vector<float>& kernel, std::size_t k, std::size_t filters,
                               std::size_t stride, bool same, const std::vector<float>& bias) {
    std::size_t oh, ow, pad_top = 0, pad_left = 0;
    if (same) {
        oh = (h + stride - 1) / stride;
        ow = (w + stride - 1) / stride;
        const long total_h = std::max(0L, long((oh - 1) * stride + k) - long(h));
        const long total_w = std::max(0L, long((ow - 1) * stride + k) - long(w));
        pad_top = total_h / 2;
        pad_left = total_w / 2;
    } else {
        oh = (h - k) / stride + 1;
        ow = (w - k) / stride + 1;
    }
    std::vector<float> y(batch * oh * ow * filters, 0.0f);
    for (std::size_t n = 0; n < batch; ++n)
        for (std::size_t i = 0; i < oh; ++i)
            for (std::size_t j = 0; j < ow; ++j)
                for (std::size_t f = 0; f < filters; ++f) {
                    double acc = bias[f];
                    for (std::size_t a = 0; a < k; ++a)
                        for (std::size_t b = 0; b < k; ++b) {
                            const long row = long(i * stride + a) - long(pad_top);
                            const long col = long(j * stride + b) - long(pad_left);
                            if (row < 0 || col < 0 || row >= long(h) || col >= long(w)) continue;
                            for (std::size_t ch = 0; ch < c; ++ch)
                                acc += double(x[((n * h + row) * w + col) * c + ch]) *
                                       kernel[((a * k + b) * c + ch) * filters + f];
                        }
                    y[((n * oh + i) * ow + j) * filters + f] = float(acc);
                }
    return y;
}

template <std::size_t H, std::size_t W, std::size_t C, std::size_t K, std::size_t F, class Pad, std::size_t S>
void compare_with_direct(std::uint64_t seed) {
    using Layer = Bound<tn::Conv2D<F, K, tn::Linear, Pad, S>, Shape<H, W, C>>;
    Layer layer;
    tn::Random rng(seed);
    layer.initialize(rng);
    std::vector<float> bias(F);
    for (float& b : bias) b = rng.uniform(-1.0f, 1.0f);
    layer.bias().set_values(bias);
    const std::size_t batch = 3;
    std::vector<float> x(batch * H * W * C);
    for (float& v : x) v = rng.uniform(-1.0f, 1.0f);
    const auto got = run(layer, x, batch);
    const auto want = direct_conv(x, batch, H, W, C, layer.kernel().values(), K, F, S, std::is_same_v<Pad, tn::Same>, bias);
    BOOST_REQUIRE_EQUAL(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i)
        BOOST_TEST(std::abs(got[i] - want[i]) <= 1e-5f * (1.0f + std::abs(want[i])), "element " << i);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(forward)

BOOST_AUTO_TEST_CASE(same_padding_is_asymmetric_like_tensorflow) {
    // 4x4 input 1..16, 2x2 kernel of ones, 'same': TensorFlow pads 0 rows above and 1 below
    // (total = (4 - 1) * 1 + 2 - 4 = 1, smaller half first), so out[i][j] sums x[i..i+1][j..j+1].
    Bound<tn::Conv2D<1, 2, tn::Linear, tn::Same>, Shape<4, 4, 1>> conv;
    conv.kernel().set_values({1, 1, 1, 1});
    std::vector<float> x(16);
    std::iota(x.begin(), x.end(), 1.0f);
    const auto y = run(conv, x, 1);
    const std::vector<float> expected{14, 18, 22, 12,  //
                                      30, 34, 38, 20,  //
                                      46, 50, 54, 28,  //
                                      27, 29, 31, 16};
    BOOST_TEST(y == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(strided_same_convolution_by_hand) {
    // 5x5 ones, 3x3 ones kernel, stride 2, 'same': out 3x3, pad 1 on every side.
    // Corners see 2x2 inputs (4), edges 2x3 (6), the centre 3x3 (9).
    Bound<tn::Conv2D<1, 3, tn::Linear, tn::Same, 2>, Shape<5, 5, 1>> conv;
    conv.kernel().set_values(std::vector<float>(9, 1.0f));
    const auto y = run(conv, std::vector<float>(25, 1.0f), 1);
    const std::vector<float> expected{4, 6, 4, 6, 9, 6, 4, 6, 4};
    BOOST_TEST(y == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(im2col_matches_direct_convolution) {
    compare_with_direct<7, 5, 3, 3, 4, tn::Valid, 1>(1);
    compare_with_direct<7, 5, 3, 3, 4, tn::Same, 1>(2);
    compare_with_direct<6, 9, 2, 4, 3, tn::Same, 1>(3);
    compare_with_direct<9, 7, 2, 3, 5, tn::Same, 2>(4);
    compare_with_direct<9, 8, 2, 3, 5, tn::Valid, 2>(5);
    compare_with_direct<5, 4, 6, 1, 7, tn::Valid, 1>(6);
    compare_with_direct<3, 3, 2, 5, 2, tn::Same, 1>(7);
    compare_with_direct<17, 13, 3, 3, 8, tn::Same, 1>(8);
}

BOOST_AUTO_TEST_CASE(relu_bias_fused) {
    Bound<tn::Conv2D<2, 1, tn::ReLU>, Shape<1, 2, 1>> conv;
    conv.kernel().set_values({1.0f, -1.0f});
    conv.bias().set_values({0.5f, 0.25f});
    const auto y = run(conv, {2.0f, -3.0f}, 1);
    // pixel 0: (2 + .5, -2 + .25 -> 0); pixel 1: (-3 + .5 -> 0, 3 + .25)
    const std::vector<float> expected{2.5f, 0.0f, 0.0f, 3.25f};
    BOOST_TEST(y == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(relu_lets_nan_through_like_tensorflow) {
    // A NaN input must reach the loss (where training stops on it), not turn into 0.
    const float nan = std::numeric_limits<float>::quiet_NaN();
    Bound<tn::Dense<2, tn::ReLU>, Shape<2>> dense;
    dense.kernel().set_values({1, -1, 1, -1});
    const auto d = run(dense, {nan, 1.0f}, 1);
    BOOST_TEST(std::isnan(d[0]));
    BOOST_TEST(std::isnan(d[1]));
    // Every convolution path: Winograd (3x3, 8+ channels), direct (few channels), im2col (stride 2).
    std::vector<float> x(8 * 8 * 8, 0.5f);
    x[3 * 8 * 8 + 4 * 8] = nan;
    Bound<tn::Conv2D<8, 3, tn::ReLU, tn::Same>, Shape<8, 8, 8>> winograd;
    Bound<tn::Conv2D<16, 3, tn::ReLU, tn::Same>, Shape<16, 16, 2>> direct;
    Bound<tn::Conv2D<8, 3, tn::ReLU, tn::Same, 2>, Shape<8, 8, 8>> strided;
    auto any_nan = [](const std::vector<float>& v) { return std::any_of(v.begin(), v.end(), [](float f) { return std::isnan(f); }); };
    std::vector<float> x2(16 * 16 * 2, 0.5f);
    x2[100] = nan;
    BOOST_TEST(any_nan(run(winograd, x, 1)));
    BOOST_TEST(any_nan(run(direct, x2, 1)));
    BOOST_TEST(any_nan(run(strided, x, 1)));
}

BOOST_AUTO_TEST_CASE(max_pooling_by_hand) {
    Bound<tn::MaxPooling2D<2>, Shape<4, 4, 1>> pool;
    const std::vector<float> x{1, 2, 5, 3,  //
                               4, 0, 1, 1,  //
                               -1, -2, 7, 8,  //
                               -3, -4, 9, 6};
    const std::vector<float> expected{4, 5, -1, 9};
    BOOST_TEST(run(pool, x, 1) == expected, boost::test_tools::per_element());

    // Odd input: floor, the last row and column are not pooled (Keras 'valid').
    Bound<tn::MaxPooling2D<2>, Shape<5, 5, 1>> odd;
    std::vector<float> x5(25);
    std::iota(x5.begin(), x5.end(), 0.0f);
    const std::vector<float> expected5{6, 8, 16, 18};
    BOOST_TEST(run(odd, x5, 1) == expected5, boost::test_tools::per_element());

    // Channels pool independently.
    Bound<tn::MaxPooling2D<2>, Shape<2, 2, 2>> channels;
    const std::vector<float> xc{1, 8, 2, 7, 3, 6, 4, 5};
    const std::vector<float> expectedc{4, 8};
    BOOST_TEST(run(channels, xc, 1) == expectedc, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(flatten_keeps_nhwc_order) {
    // Keras on NHWC: index = (h * W + w) * C + c, so memory order is unchanged.
    Bound<tn::Flatten, Shape<2, 3, 2>> flatten;
    std::vector<float> x(12);
    std::iota(x.begin(), x.end(), 0.0f);
    BOOST_TEST(run(flatten, x, 1) == x, boost::test_tools::per_element());
    static_assert(std::is_same_v<decltype(flatten)::output_shape, Shape<12>>);
}

BOOST_AUTO_TEST_CASE(dense_and_activations_by_hand) {
    Bound<tn::Dense<3, tn::Linear>, Shape<2>> dense;
    dense.kernel().set_values({1, 2, 3, 4, 5, 6});  // (in 2, out 3)
    dense.bias().set_values({0.5f, 0.0f, -1.0f});
    const std::vector<float> expected{9.5f, 12.0f, 14.0f};  // [1, 2] . W + b
    BOOST_TEST(run(dense, {1.0f, 2.0f}, 1) == expected, boost::test_tools::per_element());

    Bound<tn::Dense<2, tn::Softmax>, Shape<1>> softmax;
    softmax.kernel().set_values({1.0f, 0.0f});
    const auto p = run(softmax, {std::log(3.0f)}, 1);  // logits (ln 3, 0) -> (3/4, 1/4)
    BOOST_TEST(p[0] == 0.75f, boost::test_tools::tolerance(1e-6f));
    BOOST_TEST(p[1] == 0.25f, boost::test_tools::tolerance(1e-6f));

    Bound<tn::Dense<1, tn::Sigmoid>, Shape<1>> sigmoid;
    sigmoid.kernel().set_values({1.0f});
    const auto s = run(sigmoid, {-1000.0f, 0.0f, std::log(3.0f)}, 3);  // stable at -1000
    BOOST_TEST(s[0] == 0.0f);
    BOOST_TEST(s[1] == 0.5f);
    BOOST_TEST(s[2] == 0.75f, boost::test_tools::tolerance(1e-6f));
}

BOOST_AUTO_TEST_CASE(dropout_semantics) {
    constexpr std::size_t n = 200000;
    Bound<tn::Dropout<0.3f>, Shape<n>> dropout;
    tn::Random rng(5);
    dropout.initialize(rng);
    const std::vector<float> x(n, 2.0f);
    BOOST_TEST(run(dropout, x, 1, tn::Mode::infer) == x, boost::test_tools::per_element());  // identity

    const auto y = run(dropout, x, 1, tn::Mode::train);
    std::size_t dropped = 0;
    for (float v : y) {
        if (v == 0.0f) ++dropped;
        else BOOST_TEST(v == 2.0f / 0.7f, boost::test_tools::tolerance(1e-6f));  // kept values scaled by 1/(1-rate)
    }
    BOOST_TEST(std::abs(double(dropped) / n - 0.3) < 0.005);
    const auto again = run(dropout, x, 1, tn::Mode::train);
    BOOST_TEST(again != y);  // a fresh mask every training step
}

BOOST_AUTO_TEST_CASE(glorot_uniform_initialisation) {
    // Keras: U(-l, l), l = sqrt(6 / (fan_in + fan_out)); conv fans multiply by kh * kw.
    Bound<tn::Conv2D<64, 3, tn::ReLU>, Shape<20, 20, 32>> conv;
    tn::Random rng(9);
    conv.initialize(rng);
    const float limit = std::sqrt(6.0f / (9 * 32 + 9 * 64));
    const auto k = conv.kernel().values();
    double sum = 0, sum_sq = 0;
    float lo = 1, hi = -1;
    for (float v : k) {
        sum += v;
        sum_sq += double(v) * v;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    BOOST_TEST(lo >= -limit);
    BOOST_TEST(hi <= limit);
    BOOST_TEST(hi > 0.99f * limit);
    BOOST_TEST(std::abs(sum / k.size()) < 0.01 * limit);
    BOOST_TEST(std::abs(sum_sq / k.size() - limit * limit / 3.0) < 0.02 * limit * limit);  // variance of U(-l, l)
    for (float b : conv.bias().values()) BOOST_TEST(b == 0.0f);
}

BOOST_AUTO_TEST_SUITE_END()
