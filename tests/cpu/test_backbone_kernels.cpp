// The backbones' own kernels against straightforward references (reference.hpp, in
// double): the SIMD 3x3 depthwise convolution (stride 1 'same', stride 2 'valid' after
// Keras's correct_pad, channel counts with and without a partial register, inputs
// smaller than the four-pixel blocks), and 1x1 convolutions as a GEMM on the pixels
// (stride 1 in place, stride 2 subsampled), and ReLU with a ceiling against its one-element
// rule, under each instruction set.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "isa_scope.hpp"
#include "reference.hpp"
#include "typenet/backend/cpu/kernels.hpp"

namespace tn = typenet;
namespace ck = typenet::cpu_kernels;
using cpu_test::relative_error;

namespace {

using cpu_test::IsaScope;
using cpu_test::isas_here;

// Depthwise (multiplier 1) from the definition: y[n, i, j, c] = bias[c] + sum over taps
// of x[n, i*s + a - top, j*s + b - left, c] * k[a, b, c], taps in the padding skipped.
std::vector<float> depthwise_reference(const tn::ConvGeometry& g, const std::vector<float>& x, std::size_t batch,
                                       const std::vector<float>& kernel, const std::vector<float>& bias, bool relu) {
    std::vector<float> y(batch * g.out_size());
    for (std::size_t n = 0; n < batch; ++n)
        for (std::size_t i = 0; i < g.out_h; ++i)
            for (std::size_t j = 0; j < g.out_w; ++j)
                for (std::size_t c = 0; c < g.in_c; ++c) {
                    double acc = bias.empty() ? 0.0 : bias[c];
                    for (std::size_t a = 0; a < g.kernel_h; ++a)
                        for (std::size_t b = 0; b < g.kernel_w; ++b) {
                            long row, col;
                            if (!cpu_test::tap(g, i, j, a, b, row, col)) continue;
                            acc += double(x[((n * g.in_h + row) * g.in_w + col) * g.in_c + c]) *
                                   kernel[(a * g.kernel_w + b) * g.in_c + c];
                        }
                    if (relu && acc < 0) acc = 0;
                    y[((n * g.out_h + i) * g.out_w + j) * g.in_c + c] = float(acc);
                }
    return y;
}

// A 3x3 depthwise geometry: 'same' at stride 1, or Keras's strided block (correct_pad:
// one row/column after, one before only when the size is odd, then 'valid' stride 2).
tn::ConvGeometry depthwise_geometry(std::size_t h, std::size_t w, std::size_t c, std::size_t stride) {
    if (stride == 1) return cpu_test::geometry(h, w, c, 3, c, 1, true);
    const std::size_t top = h % 2, left = w % 2;
    const std::size_t ph = h + top + 1, pw = w + left + 1;
    return {h, w, c, 3, 3, c, 2, 2, top, left, (ph - 3) / 2 + 1, (pw - 3) / 2 + 1};
}

void check_depthwise(std::size_t h, std::size_t w, std::size_t c, std::size_t stride, std::size_t batch) {
    const tn::ConvGeometry g = depthwise_geometry(h, w, c, stride);
    BOOST_TEST(ck::depthwise_detail::simd3x3_applies(g));
    const auto x = cpu_test::random_values(batch * g.in_size(), 11);
    const auto kernel = cpu_test::random_values(9 * c, 12);
    const auto bias = cpu_test::random_values(c, 13);
    for (bool with_bias : {false, true})
        for (bool relu : {false, true}) {
            std::vector<float> y(batch * g.out_size(), 99.0f);
            ck::depthwise_conv2d_forward(g, x.data(), batch, kernel.data(), with_bias ? bias.data() : nullptr,
                                         y.data(), relu ? tn::ActivationKind::relu : tn::ActivationKind::linear);
            const auto expected = depthwise_reference(g, x, batch, kernel, with_bias ? bias : std::vector<float>{}, relu);
            const double error = relative_error(y, expected);
            BOOST_TEST_INFO(h << "x" << w << "x" << c << " stride " << stride << " batch " << batch
                              << (with_bias ? " bias" : "") << (relu ? " relu" : "") << ": relative error " << error);
            BOOST_TEST(error < 1e-6);
        }
}

void check_pointwise(std::size_t h, std::size_t w, std::size_t c, std::size_t filters, std::size_t stride,
                     std::size_t batch) {
    const tn::ConvGeometry g = cpu_test::geometry(h, w, c, 1, filters, stride, false);
    BOOST_TEST(ck::conv_detail::pointwise_applies(g));
    const auto x = cpu_test::random_values(batch * g.in_size(), 21);
    const auto kernel = cpu_test::random_values(c * filters, 22);
    const auto bias = cpu_test::random_values(filters, 23);
    for (bool relu : {false, true}) {
        std::vector<float> y(batch * g.out_size(), 99.0f);
        ck::conv2d_forward_by(tn::ConvAlgorithm::automatic, g, x.data(), batch, kernel.data(), bias.data(), y.data(),
                              relu ? tn::ActivationKind::relu : tn::ActivationKind::linear);
        const double error = relative_error(y, cpu_test::conv_forward(g, x, batch, kernel, bias, relu));
        BOOST_TEST_INFO(h << "x" << w << "x" << c << " > " << filters << " stride " << stride << " batch " << batch
                          << (relu ? " relu" : "") << ": relative error " << error);
        BOOST_TEST(error < 1e-5);
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(depthwise_3x3_simd_matches_reference) {
    for (ck::simd::Isa isa : isas_here()) {
        IsaScope scope(isa);
        BOOST_TEST_INFO("instruction set " << int(isa));
        for (std::size_t stride : {1u, 2u}) {
            check_depthwise(14, 14, 32, stride, 2);  // whole registers, even sizes
            check_depthwise(15, 13, 48, stride, 2);  // odd sizes (correct_pad pads before too)
            check_depthwise(9, 11, 19, stride, 3);   // a partial register
            check_depthwise(7, 3, 16, stride, 1);    // narrower than a four-pixel block
            check_depthwise(1, 1, 16, stride, 2);    // one pixel: every tap but the centre in the padding
            check_depthwise(2, 23, 8, stride, 1);    // fewer channels than a register
        }
    }
}

BOOST_AUTO_TEST_CASE(depthwise_other_shapes_keep_the_general_loops) {
    BOOST_TEST(!ck::depthwise_detail::simd3x3_applies(cpu_test::geometry(9, 9, 16, 5, 16, 1, true)));   // 5x5
    BOOST_TEST(!ck::depthwise_detail::simd3x3_applies(cpu_test::geometry(9, 9, 16, 3, 32, 1, true)));   // multiplier 2
    BOOST_TEST(!ck::depthwise_detail::simd3x3_applies(cpu_test::geometry(9, 9, 16, 3, 16, 3, false)));  // stride 3
}

BOOST_AUTO_TEST_CASE(pointwise_convolutions_are_gemms_on_the_pixels) {
    for (ck::simd::Isa isa : isas_here()) {
        IsaScope scope(isa);
        BOOST_TEST_INFO("instruction set " << int(isa));
        for (std::size_t stride : {1u, 2u}) {
            check_pointwise(8, 8, 32, 64, stride, 2);
            check_pointwise(9, 7, 19, 33, stride, 3);  // odd sizes, partial registers
            check_pointwise(56, 56, 16, 24, stride, 2);  // several row blocks
        }
        check_pointwise(11, 10, 8, 16, 3, 2);  // stride 3: subsampling works for any stride
    }
    BOOST_TEST(!ck::conv_detail::pointwise_applies(cpu_test::geometry(8, 8, 16, 3, 16, 1, false)));
}

// ReLU with a ceiling (MobileNetV2's ReLU6), vectorised in blocks: against the one-element
// rule on lengths that end inside a register and inside a thread block, with the kinks
// themselves (0, -0, max_value), NaN and infinities in the input, and an infinite ceiling.
BOOST_AUTO_TEST_CASE(relu_with_ceiling_matches_the_one_element_rule) {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    for (ck::simd::Isa isa : isas_here()) {
        IsaScope scope(isa);
        for (float max_value : {6.0f, 0.5f, inf})
            for (std::size_t count : {1u, 15u, 17u, 16384u, 16385u, 70001u}) {
                auto x = cpu_test::random_values(count, 31 + static_cast<unsigned>(count), -8.0f, 8.0f);
                const float special[] = {0.0f, -0.0f, max_value, nan, inf, -inf, 6.0f, 1e-30f, -1e-30f};
                for (std::size_t i = 0; i < count; i += 7) x[i] = special[(i / 7) % std::size(special)];
                const auto dy = cpu_test::random_values(count, 41);
                std::vector<float> y(count, 9.0f), dx(count, 9.0f);
                ck::relu_forward(x.data(), y.data(), count, max_value);
                ck::relu_backward(x.data(), dy.data(), dx.data(), count, max_value);
                std::size_t wrong_y = 0, wrong_dx = 0;
                for (std::size_t i = 0; i < count; ++i) {
                    const float v = x[i];
                    const float expected_y = v < 0.0f ? 0.0f : (v > max_value ? max_value : v);
                    const float expected_dx = (v > 0.0f && v < max_value) ? dy[i] : 0.0f;
                    const bool same_y = std::isnan(expected_y)
                                            ? std::isnan(y[i])
                                            : y[i] == expected_y && std::signbit(y[i]) == std::signbit(expected_y);
                    wrong_y += same_y ? 0 : 1;
                    wrong_dx += dx[i] == expected_dx ? 0 : 1;
                }
                BOOST_TEST_INFO("instruction set " << int(isa) << ", max_value " << max_value << ", " << count
                                                   << " elements");
                BOOST_TEST(wrong_y == 0u);
                BOOST_TEST_INFO("instruction set " << int(isa) << ", max_value " << max_value << ", " << count
                                                   << " elements");
                BOOST_TEST(wrong_dx == 0u);
            }
    }
}
