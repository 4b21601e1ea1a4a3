// Winograd's rounding error against float64, set against im2col's on the same data: for
// every VGG-16 and model-A layer shape Winograd runs (3x3 stride 1, 8+ channels), the
// root-mean-square error of the forward pass, the input gradient and the kernel gradient,
// relative to the root-mean-square of the float64 result. `winograd` (F(2x2, 3x3), what
// `automatic` runs) must stay within 1.25x im2col's; `winograd_fast` (F(4x4, 3x3)) is
// measured and reported, and must stay within 10x (it measures 1.8-7.8x).
//
// The channel counts are the layers' own; the spatial size and batch are reduced so that
// the float64 reference runs in seconds: VGG-16's 150/75/37/18/9 become 20/16/12/10/9
// ('same'), model A's 74/36 become 20/16 ('valid'). Inputs are drawn both signed and
// non-negative (what a ReLU feeds the next layer); kernels are Glorot-uniform.
// Also here: tn::set_conv_algorithm, its environment override and its fallback rule.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "reference.hpp"
#include "typenet/backend/cpu/kernels.hpp"

namespace tn = typenet;
namespace ck = typenet::cpu_kernels;

namespace {

struct Shape {
    const char* name;
    std::size_t size, channels, filters;
    bool same;
    std::size_t batch;
};

const Shape shapes[] = {
    {"block1_conv2 (150 -> 20)", 20, 64, 64, true, 2},    {"block2_conv1 (75 -> 16)", 16, 64, 128, true, 2},
    {"block2_conv2 (75 -> 16)", 16, 128, 128, true, 2},   {"block3_conv1 (37 -> 12)", 12, 128, 256, true, 1},
    {"block3_conv2/3 (37 -> 12)", 12, 256, 256, true, 1}, {"block4_conv1 (18 -> 10)", 10, 256, 512, true, 1},
    {"block4_conv2/3 (18 -> 10)", 10, 512, 512, true, 1}, {"block5_conv1-3 (9)", 9, 512, 512, true, 1},
    {"model A conv2d_2 (74 -> 20)", 20, 16, 64, false, 2}, {"model A conv2d_3 (36 -> 16)", 16, 64, 128, false, 2},
};

struct Reference {
    std::vector<double> y, dx, dk;
};

// Forward and both gradients in float64 from the float inputs.
Reference reference(const tn::ConvGeometry& g, std::size_t batch, const std::vector<float>& x,
                    const std::vector<float>& w, const std::vector<float>& dz) {
    const std::size_t C = g.in_c, K = g.filters;
    Reference r{std::vector<double>(batch * g.out_size()), std::vector<double>(batch * g.in_size()),
                std::vector<double>(9 * C * K)};
    for (std::size_t n = 0; n < batch; ++n)
        for (std::size_t i = 0; i < g.out_h; ++i)
            for (std::size_t j = 0; j < g.out_w; ++j)
                for (std::size_t a = 0; a < 3; ++a)
                    for (std::size_t b = 0; b < 3; ++b) {
                        long row, col;
                        if (!cpu_test::tap(g, i, j, a, b, row, col)) continue;
                        const std::size_t in = ((n * g.in_h + std::size_t(row)) * g.in_w + std::size_t(col)) * C;
                        const std::size_t out = ((n * g.out_h + i) * g.out_w + j) * K;
                        for (std::size_t c = 0; c < C; ++c) {
                            const double xv = x[in + c];
                            const float* wk = &w[((a * 3 + b) * C + c) * K];
                            double* dk = &r.dk[((a * 3 + b) * C + c) * K];
                            double back = 0.0;
                            for (std::size_t f = 0; f < K; ++f) {
                                r.y[out + f] += xv * wk[f];
                                dk[f] += xv * dz[out + f];
                                back += double(dz[out + f]) * wk[f];
                            }
                            r.dx[in + c] += back;
                        }
                    }
    return r;
}

// rms(got - want) / rms(want).
double relative_rms(const std::vector<float>& got, const std::vector<double>& want) {
    double error = 0.0, scale = 0.0;
    for (std::size_t i = 0; i < got.size(); ++i) {
        error += (got[i] - want[i]) * (got[i] - want[i]);
        scale += want[i] * want[i];
    }
    return std::sqrt(error / scale);
}

struct Errors {
    double forward, input_gradient, kernel_gradient;
};

Errors errors_of(ck::ConvMethod method, const tn::ConvGeometry& g, std::size_t batch, const std::vector<float>& x,
                 const std::vector<float>& w, const std::vector<float>& dz, const Reference& r) {
    std::vector<float> y(r.y.size()), dx(r.dx.size()), dk(r.dk.size()), db(g.filters);
    ck::conv2d_forward_by(method, g, x.data(), batch, w.data(), nullptr, y.data(), tn::ActivationKind::linear);
    ck::conv2d_backward_by(method, g, x.data(), batch, w.data(), dz.data(), dx.data(), dk.data(), db.data());
    return {relative_rms(y, r.y), relative_rms(dx, r.dx), relative_rms(dk, r.dk)};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(winograd_error)

BOOST_AUTO_TEST_CASE(winograd_is_as_accurate_as_im2col_on_every_vgg16_and_model_a_shape) {
    for (const bool non_negative : {false, true})
        for (const Shape& s : shapes) {
            const tn::ConvGeometry g = cpu_test::geometry(s.size, s.size, s.channels, 3, s.filters, 1, s.same);
            BOOST_REQUIRE(ck::conv2d_forward_method(g) == ck::ConvMethod::winograd);
            const float limit = std::sqrt(6.0f / float(9 * (s.channels + s.filters)));
            const auto x = cpu_test::random_values(s.batch * g.in_size(), 11, non_negative ? 0.0f : -1.0f, 1.0f);
            const auto w = cpu_test::random_values(9 * s.channels * s.filters, 12, -limit, limit);
            const auto dz = cpu_test::random_values(s.batch * g.out_size(), 13);
            const Reference r = reference(g, s.batch, x, w, dz);
            const Errors im2col = errors_of(ck::ConvMethod::im2col, g, s.batch, x, w, dz, r);
            const Errors wino = errors_of(ck::ConvMethod::winograd, g, s.batch, x, w, dz, r);
            const Errors fast = errors_of(ck::ConvMethod::winograd_fast, g, s.batch, x, w, dz, r);
            BOOST_TEST_MESSAGE(s.name << (non_negative ? " x >= 0" : " signed x") << ": im2col " << im2col.forward
                                      << " / " << im2col.input_gradient << " / " << im2col.kernel_gradient
                                      << "; winograd x" << wino.forward / im2col.forward << " / x"
                                      << wino.input_gradient / im2col.input_gradient << " / x"
                                      << wino.kernel_gradient / im2col.kernel_gradient << "; winograd_fast x"
                                      << fast.forward / im2col.forward << " / x"
                                      << fast.input_gradient / im2col.input_gradient << " / x"
                                      << fast.kernel_gradient / im2col.kernel_gradient);
            BOOST_TEST_CONTEXT(s.name << (non_negative ? ", x >= 0" : ", signed x")) {
                // im2col itself is at float32 rounding: a few units of 6e-8.
                BOOST_TEST(im2col.forward < 1e-6);
                BOOST_TEST(im2col.input_gradient < 1e-6);
                BOOST_TEST(im2col.kernel_gradient < 1e-6);
                BOOST_TEST(wino.forward <= 1.25 * im2col.forward);
                BOOST_TEST(wino.input_gradient <= 1.25 * im2col.input_gradient);
                BOOST_TEST(wino.kernel_gradient <= 1.25 * im2col.kernel_gradient);
                BOOST_TEST(fast.forward <= 10.0 * im2col.forward);
                BOOST_TEST(fast.input_gradient <= 10.0 * im2col.input_gradient);
                BOOST_TEST(fast.kernel_gradient <= 10.0 * im2col.kernel_gradient);
            }
        }
}

BOOST_AUTO_TEST_CASE(the_algorithm_is_set_process_wide_and_the_environment_overrides_it) {
    ::unsetenv("TYPENET_CONV_ALGORITHM");
    BOOST_TEST((tn::conv_algorithm() == tn::ConvAlgorithm::automatic));
    tn::set_conv_algorithm(tn::ConvAlgorithm::im2col);
    BOOST_TEST((ck::conv_method() == tn::ConvAlgorithm::im2col));
    ::setenv("TYPENET_CONV_ALGORITHM", "winograd_fast", 1);
    BOOST_TEST((ck::conv_method() == tn::ConvAlgorithm::winograd_fast));
    ::setenv("TYPENET_CONV_ALGORITHM", "fft", 1);
    try {
        (void)tn::conv_algorithm();
        BOOST_ERROR("an unknown algorithm in TYPENET_CONV_ALGORITHM was accepted");
    } catch (const std::invalid_argument& e) {
        const std::string message = e.what();
        BOOST_TEST(message.find("TYPENET_CONV_ALGORITHM") != std::string::npos);
        BOOST_TEST(message.find("'fft'") != std::string::npos);
    }
    ::setenv("TYPENET_CONV_ALGORITHM", "", 1);  // empty: no override
    BOOST_TEST((tn::conv_algorithm() == tn::ConvAlgorithm::im2col));
    ::unsetenv("TYPENET_CONV_ALGORITHM");
    tn::set_conv_algorithm(tn::ConvAlgorithm::automatic);
    BOOST_CHECK_THROW(tn::parse_conv_algorithm("Winograd", "--conv-algorithm"), std::invalid_argument);
    BOOST_TEST((tn::parse_conv_algorithm("direct") == tn::ConvAlgorithm::direct));
}

BOOST_AUTO_TEST_CASE(an_algorithm_that_cannot_do_a_shape_falls_back_to_im2col) {
    const auto strided = cpu_test::geometry(20, 20, 64, 3, 64, 2, true);
    const auto five = cpu_test::geometry(20, 20, 64, 5, 64, 1, true);
    const auto wide = cpu_test::geometry(20, 20, 64, 3, 64, 1, true);
    const auto rgb = cpu_test::geometry(20, 20, 3, 3, 16, 1, true);
    BOOST_TEST((ck::conv2d_resolved_method(tn::ConvAlgorithm::winograd, strided) == tn::ConvAlgorithm::im2col));
    BOOST_TEST((ck::conv2d_resolved_method(tn::ConvAlgorithm::winograd_fast, five) == tn::ConvAlgorithm::im2col));
    BOOST_TEST((ck::conv2d_resolved_method(tn::ConvAlgorithm::direct, wide) == tn::ConvAlgorithm::im2col));
    BOOST_TEST((ck::conv2d_resolved_method(tn::ConvAlgorithm::winograd, rgb) == tn::ConvAlgorithm::im2col));
    BOOST_TEST((ck::conv2d_resolved_method(tn::ConvAlgorithm::automatic, rgb) == tn::ConvAlgorithm::direct));
    BOOST_TEST((ck::conv2d_resolved_method(tn::ConvAlgorithm::automatic, wide) == tn::ConvAlgorithm::winograd));
    BOOST_TEST((ck::conv2d_resolved_method(tn::ConvAlgorithm::winograd_fast, wide) == tn::ConvAlgorithm::winograd_fast));
}

BOOST_AUTO_TEST_SUITE_END()
