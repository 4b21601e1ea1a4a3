// bf16 inference (core/precision.hpp, backend/cpu/bf16.hpp):
// - the kernels: every Conv2D shape class (3 input channels, odd patch lengths, 'same' and
//   'valid', strides, 1x1 at stride 1 and 2, 7x7/2, filters and rows that fill no whole
//   register tile) and Dense (ReLU, softmax) against a double-precision reference on the
//   same inputs and weights rounded to bf16: equal within float32 summation error, so
//   the products are bf16's and nothing else; and further from the unrounded reference
//   than that, so the inputs really were rounded;
// - the accuracy of record (issue 17): VGG-16 and ResNet-50 bases (Keras's initialisers,
//   random BatchNormalization statistics, caffe-scaled random images), bf16 features
//   within 1e-2 of FP32 relative to the largest value; more than pure FP32 rounding away
//   (1e-4), and the bf16 product ran once per Conv2D, so a silent FP32 run fails;
// - the switch: scoped, training untouched, an error where the CPU lacks AVX512_BF16;
// - a ReLU6 folded after a bf16 convolution still caps at 6 (within 2e-2 of FP32).
// Without AVX512_BF16 the program checks that asking for bf16 is that error, then exits
// 77 (ctest: Skipped).
#define BOOST_TEST_MODULE typenet bf16 inference
#define BOOST_TEST_NO_MAIN
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "reference.hpp"
#include "typenet/backend/cpu/bf16.hpp"
#include "typenet/core/precision.hpp"
#include "typenet/typenet.hpp"
#include "typenet/zoo/resnet.hpp"
#include "typenet/zoo/vgg.hpp"

namespace tn = typenet;
namespace bf16 = tn::cpu_kernels::bf16;

namespace {

std::vector<float> rounded(std::vector<float> v) {
    for (float& x : v) x = bf16::to_float(bf16::round(x));
    return v;
}

std::size_t products() { return bf16::products_run().load(); }

template <class Net>
std::vector<float> features(Net& net, const std::vector<float>& x, std::size_t batch, tn::Precision p,
                            tn::Mode mode = tn::Mode::infer) {
    tn::ScopedInferencePrecision precision(p);
    std::vector<float> y(batch * Net::output_shape::size);
    net.forward(x.data(), y.data(), batch, mode);
    return y;
}

struct Accuracy {
    double bf16_error;   // bf16 against FP32
    double fp32_noise;   // FP32 by im2col against FP32 by the default algorithms
};

// bf16 against FP32 features of a backbone, and how far two FP32 algorithms differ.
template <class Net>
Accuracy backbone_accuracy(const char* name, std::size_t conv_layers) {
    constexpr std::size_t batch = 2;
    auto net = std::make_unique<Net>(11);
    cpu_test::randomise_batch_norms(*net);
    // Caffe-style preprocessed pixels (keras.applications' VGG16 and ResNet50): about -124..151.
    const auto x = cpu_test::random_values(batch * Net::input_shape::size, 3, -124.0f, 151.0f);
    const auto fp32 = features(*net, x, batch, tn::Precision::fp32);
    tn::set_conv_algorithm(tn::ConvAlgorithm::im2col);
    const auto fp32_im2col = features(*net, x, batch, tn::Precision::fp32);
    tn::set_conv_algorithm(tn::ConvAlgorithm::automatic);
    const std::size_t before = products();
    const auto low = features(*net, x, batch, tn::Precision::bf16);
    BOOST_TEST_INFO(name);
    BOOST_TEST(products() - before == conv_layers);  // every Conv2D ran in bf16, nothing else did
    BOOST_TEST(*std::max_element(fp32.begin(), fp32.end()) > 0.0f);  // the check compares something
    const Accuracy a{cpu_test::relative_error(low, fp32), cpu_test::relative_error(fp32_im2col, fp32)};
    BOOST_TEST_MESSAGE(name << ": bf16 features against FP32, max |difference| / max |FP32| = " << a.bf16_error
                            << " (FP32 im2col against FP32 default: " << a.fp32_noise << ")");
    std::printf("%s: bf16 against FP32 %.3g relative to the largest feature (FP32 algorithms differ by %.3g)\n", name,
                a.bf16_error, a.fp32_noise);
    return a;
}

}  // namespace

BOOST_AUTO_TEST_CASE(rounding_is_to_nearest_even) {
    BOOST_TEST(bf16::round(1.0f) == 0x3f80);
    BOOST_TEST(bf16::round(1.0f + 0x1p-8f) == 0x3f80);         // halfway: to the even 1.0
    BOOST_TEST(bf16::round(1.0f + 3 * 0x1p-8f) == 0x3f82);     // halfway: to the even 1 + 2^-6
    BOOST_TEST(bf16::round(1.0f + 0x1p-8f + 0x1p-20f) == 0x3f81);  // past halfway: up
    BOOST_TEST(bf16::round(-2.0f) == 0xc000);
    BOOST_TEST(std::isnan(bf16::to_float(bf16::round(std::nanf("")))));
#if TYPENET_BF16_KERNELS
    // The vector conversion (vcvtneps2bf16) rounds as the scalar one does, tails included.
    const auto v = cpu_test::random_values(37, 1, -1000.0f, 1000.0f);
    std::vector<bf16::bits> out(v.size() + 1, 0x1234);
    bf16::convert(v.data(), out.data(), v.size());
    for (std::size_t i = 0; i < v.size(); ++i) BOOST_TEST(out[i] == bf16::round(v[i]));
    BOOST_TEST(out[v.size()] == 0x1234);  // nothing written past the end
#endif
}

BOOST_AUTO_TEST_CASE(convolutions_are_bf16_products_summed_in_float) {
    struct Case {
        std::size_t h, w, c, k, filters, stride;
        bool same, relu;
    };
    const Case cases[] = {
        {9, 11, 3, 3, 16, 1, true, true},     // the first layer: 27 taps, odd
        {8, 7, 20, 3, 40, 1, true, false},    // 3x3 same (Winograd's shape in FP32), filters past one panel
        {9, 9, 13, 3, 33, 2, false, true},    // strided, valid, odd channels
        {6, 5, 64, 1, 70, 1, false, false},   // 1x1 (ResNet bottleneck)
        {7, 7, 24, 1, 48, 2, false, true},    // 1x1 stride 2 (projection shortcut)
        {16, 15, 3, 7, 64, 2, true, true},    // ResNet-50's stem
    };
    for (const Case& t : cases) {
        const auto g = cpu_test::geometry(t.h, t.w, t.c, t.k, t.filters, t.stride, t.same);
        const std::size_t batch = 3;
        const auto x = cpu_test::random_values(batch * g.in_size(), 10 + t.c);
        const auto kernel = cpu_test::random_values(g.patch_size() * t.filters, 20 + t.c);
        const auto bias = cpu_test::random_values(t.filters, 30 + t.c);
        std::vector<float> y(batch * g.out_size(), -7.0f);
        const std::size_t before = products();
        bf16::conv2d_forward(g, x.data(), batch, kernel.data(), bias.data(), y.data(),
                             t.relu ? tn::ActivationKind::relu : tn::ActivationKind::linear);
        BOOST_TEST(products() == before + 1);
        const auto exact_on_rounded = cpu_test::conv_forward(g, rounded(x), batch, rounded(kernel), bias, t.relu);
        const auto exact = cpu_test::conv_forward(g, x, batch, kernel, bias, t.relu);
        BOOST_TEST_INFO("case " << t.h << "x" << t.w << "x" << t.c << " k" << t.k << " filters " << t.filters
                                << " stride " << t.stride);
        BOOST_TEST(cpu_test::relative_error(y, exact_on_rounded) < 1e-5);
        BOOST_TEST(cpu_test::relative_error(y, exact) > 1e-4);  // the inputs were rounded to bf16
        BOOST_TEST(cpu_test::relative_error(y, exact) < 2e-2);
    }
}

BOOST_AUTO_TEST_CASE(dense_is_bf16_products_summed_in_float) {
    const std::size_t batch = 5, in = 37, units = 45;
    const auto x = cpu_test::random_values(batch * in, 1);
    const auto w = cpu_test::random_values(in * units, 2);
    const auto b = cpu_test::random_values(units, 3);
    const auto rx = rounded(x), rw = rounded(w);
    for (auto act : {tn::ActivationKind::relu, tn::ActivationKind::softmax}) {
        std::vector<float> y(batch * units);
        bf16::dense_forward(x.data(), batch, in, units, w.data(), b.data(), y.data(), act);
        std::vector<float> expected(batch * units);
        for (std::size_t n = 0; n < batch; ++n) {
            double total = 0.0;
            std::vector<double> z(units);
            for (std::size_t u = 0; u < units; ++u) {
                z[u] = b[u];
                for (std::size_t i = 0; i < in; ++i) z[u] += double(rx[n * in + i]) * rw[i * units + u];
            }
            if (act == tn::ActivationKind::relu) {
                for (std::size_t u = 0; u < units; ++u) expected[n * units + u] = float(std::max(z[u], 0.0));
            } else {
                const double top = *std::max_element(z.begin(), z.end());
                for (double& v : z) total += (v = std::exp(v - top));
                for (std::size_t u = 0; u < units; ++u) expected[n * units + u] = float(z[u] / total);
            }
        }
        BOOST_TEST_INFO(tn::activation_name(act));
        BOOST_TEST(cpu_test::relative_error(y, expected) < 1e-5);
    }
    // NaN passes the fused ReLU, as in TensorFlow (and the FP32 kernels).
    auto poisoned = x;
    poisoned[0] = std::nanf("");
    std::vector<float> y(batch * units);
    bf16::dense_forward(poisoned.data(), batch, in, units, w.data(), b.data(), y.data(), tn::ActivationKind::relu);
    BOOST_TEST(std::all_of(y.begin(), y.begin() + units, [](float v) { return std::isnan(v); }));
    BOOST_TEST(std::none_of(y.begin() + units, y.end(), [](float v) { return std::isnan(v); }));
}

BOOST_AUTO_TEST_CASE(vgg16_features_within_1e_2_of_fp32) {
    const Accuracy a = backbone_accuracy<tn::zoo::VGG16Base<32, 32>>("VGG-16 (32x32)", 13);
    BOOST_TEST(a.bf16_error < 1e-2);
    BOOST_TEST(a.bf16_error > 1e-4);  // bf16's rounding shows: this was not an FP32 run
    BOOST_TEST(a.fp32_noise < 1e-4);
}

BOOST_AUTO_TEST_CASE(resnet50_features_within_1e_2_of_fp32) {
    const Accuracy a = backbone_accuracy<tn::zoo::ResNet50Base<32, 32>>("ResNet-50 (32x32)", 53);
    BOOST_TEST(a.bf16_error < 1e-2);
    BOOST_TEST(a.bf16_error > 1e-4);
    BOOST_TEST(a.fp32_noise < 1e-4);
}

// A model with Dense layers: they run bf16 in inference, and training mode is FP32 (the
// same bits as with the setting off), and the scope puts FP32 back.
BOOST_AUTO_TEST_CASE(training_and_fp32_are_untouched) {
    using Net = tn::Sequential<tn::Input<8, 8, 3>, tn::Conv2D<16, 3, tn::ReLU, tn::Same>, tn::Flatten,
                               tn::Dense<20, tn::ReLU>, tn::Dense<4, tn::Softmax>>;
    Net net(5);
    const std::size_t batch = 4;
    const auto x = cpu_test::random_values(batch * Net::input_shape::size, 6);
    const auto fp32 = features(net, x, batch, tn::Precision::fp32);
    const std::size_t before = products();
    const auto low = features(net, x, batch, tn::Precision::bf16);
    BOOST_TEST(products() - before == 3u);  // one Conv2D, two Dense
    BOOST_TEST((tn::inference_precision() == tn::Precision::fp32));  // the scope restored it
    BOOST_TEST(cpu_test::relative_error(low, fp32) < 1e-2);
    BOOST_TEST(cpu_test::relative_error(low, fp32) > 1e-5);
    const std::size_t before_training = products();
    const auto train_bf16 = features(net, x, batch, tn::Precision::bf16, tn::Mode::train);
    const auto train_fp32 = features(net, x, batch, tn::Precision::fp32, tn::Mode::train);
    BOOST_TEST(products() == before_training);
    BOOST_TEST((train_bf16 == train_fp32));
    BOOST_TEST((features(net, x, batch, tn::Precision::fp32) == fp32));
}

// MobileNetV2's ReLU6 after Conv2D + BatchNormalization folds in bf16 too (the bf16 tile
// caps in its store, as the FP32 kernels do): the outputs stop at 6, as FP32's do, and
// stay within 2e-2 of them relative to 6 (not 1e-2 as for the backbones: the wide gammas
// that push values past 6 make bf16's rounding scale with pre-activations the cap hides).
BOOST_AUTO_TEST_CASE(relu6_after_a_bf16_convolution_is_capped) {
    using Net = tn::Sequential<
        tn::Input<12, 11, 3>, tn::Conv2D<16, 3, tn::Linear, tn::Same, 2, "stem", tn::NoBias>,
        tn::BatchNormalization<0.999f, 1e-3f, "stem_bn">, tn::ReLU6,
        tn::DepthwiseConv2D<3, tn::Linear, tn::Same, 1, "dw", tn::NoBias>, tn::BatchNormalization<0.999f, 1e-3f, "dw_bn">,
        tn::ReLU6, tn::Conv2D<32, 1, tn::Linear, tn::Valid, 1, "expand", tn::NoBias>,
        tn::BatchNormalization<0.999f, 1e-3f, "expand_bn">, tn::ReLU6>;
    Net net(21);
    cpu_test::randomise_batch_norms(net);
    unsigned seed = 300;
    net.for_each_weight([&](std::string_view, auto& tensor, bool) {  // wide gammas: values past 6
        if (std::string_view(tensor.name) == "gamma")
            tensor.set_values(cpu_test::random_values(tensor.size(), ++seed, 1.5f, 4.0f));
    });
    const std::size_t batch = 3;
    const auto x = cpu_test::random_values(batch * Net::input_shape::size, 22, -8.0f, 8.0f);
    const auto fp32 = features(net, x, batch, tn::Precision::fp32);
    const std::size_t before = products();
    const auto low = features(net, x, batch, tn::Precision::bf16);
    BOOST_TEST(products() - before == 2u);  // the two Conv2D
    BOOST_TEST(std::count(fp32.begin(), fp32.end(), 6.0f) > 0);
    BOOST_TEST(std::count(low.begin(), low.end(), 6.0f) > 0);
    BOOST_TEST(*std::max_element(low.begin(), low.end()) <= 6.0f);
    BOOST_TEST(cpu_test::relative_error(low, fp32) < 2e-2);
}

int main(int argc, char* argv[]) {
    if (!tn::bf16_supported()) {
        // Asking for bf16 here is an error that says why, and the setting stays FP32.
        bool refused = false;
        try {
            tn::set_inference_precision(tn::Precision::bf16);
        } catch (const std::runtime_error& e) {
            refused = std::string_view(e.what()).find("AVX512_BF16") != std::string_view::npos;
            std::printf("%s\n", e.what());
        }
        if (!refused || tn::inference_precision() != tn::Precision::fp32) {
            std::printf("test_bf16: set_inference_precision(bf16) on a CPU without AVX512_BF16 did not refuse\n");
            return 1;
        }
        std::printf("test_bf16: this CPU has no AVX512_BF16: skipped\n");
        return 77;
    }
    return boost::unit_test::unit_test_main(&init_unit_test, argc, argv);
}
