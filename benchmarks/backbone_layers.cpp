// benchmarks/backbone_layers.cpp
// Per-layer forward timings of ResNet-50 and MobileNetV2 at 224x224, batch 32, as
// Keras's applications build them (zoo/resnet.hpp, zoo/mobilenet.hpp): every distinct
// convolution shape once, times how often the network has it, so the table adds up to
// the networks' convolution time; set against benchmarks/cpu_workloads' whole forward
// pass, the rest is what the other layers (padding, pooling, ReLU6, Add) cost. Each
// convolution runs as inference runs it: BatchNormalization folded in, bias and ReLU
// applied by the kernel (layers/fold_batch_norm.hpp).
//
//   backbone_layers [--threads 2] [--repeat 3] [--network resnet50|mobilenetv2|all]
//
// First, per network: the FMA ceiling, measured here (conv_layers' measure, before and after
// the layers, the higher). Columns: the method, ms per call, GFLOP/s (2 x multiply-adds /
// time), that rate as a fraction of the ceiling, calls per forward pass, ms per forward pass; for 1x1 layers the forward by im2col + GEMM (what
// the pointwise path saves), for depthwise layers the general loops (what the SIMD
// kernel saves), and one line per network for the unfolded Conv + BatchNormalization +
// ReLU (three passes) against the folded convolution.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "timing.hpp"
#include "typenet/backend/cpu/kernels.hpp"

namespace tn = typenet;
namespace ck = typenet::cpu_kernels;
using bench::clock_type;
using bench::fma_ceiling;
using bench::median_seconds;
using bench::random_values;

namespace {

constexpr std::size_t batch = 32;

struct Layer {
    const char* name;
    tn::ConvGeometry g;
    bool depthwise;
    int count;  // how often the network has this shape
};

// TensorFlow's 'same' or 'valid' geometry.
tn::ConvGeometry conv(std::size_t size, std::size_t c, std::size_t k, std::size_t filters, std::size_t stride,
                      bool same = true) {
    std::size_t out, pad = 0;
    if (same) {
        out = (size + stride - 1) / stride;
        pad = static_cast<std::size_t>(std::max(0L, long((out - 1) * stride + k) - long(size))) / 2;
    } else {
        out = (size - k) / stride + 1;
    }
    return {size, size, c, k, k, filters, stride, stride, pad, pad, out, out};
}

// A strided MobileNetV2 depthwise layer: on the (size + 1)^2 input correct_pad made, 'valid'.
tn::ConvGeometry strided_depthwise(std::size_t size, std::size_t c) {
    return {size + 1, size + 1, c, 3, 3, c, 2, 2, 0, 0, size / 2, size / 2};
}

std::vector<Layer> resnet50() {
    std::vector<Layer> l{{"conv1_conv 7x7/2", conv(230, 3, 7, 64, 2, false), false, 1}};
    const struct {
        std::size_t size, in, filters, stride;
        int blocks;
    } stages[] = {{56, 64, 64, 1, 3}, {56, 256, 128, 2, 4}, {28, 512, 256, 2, 6}, {14, 1024, 512, 2, 3}};
    static std::vector<std::string> names;
    names.reserve(64);
    for (int s = 0; s < 4; ++s) {
        const auto& st = stages[s];
        const std::size_t out = st.size / st.stride, F = st.filters;
        auto name = [&](const char* what) {
            names.push_back("conv" + std::to_string(s + 2) + "_" + what);
            return names.back().c_str();
        };
        l.push_back({name("block1_0 1x1"), conv(st.size, st.in, 1, 4 * F, st.stride), false, 1});
        l.push_back({name("block1_1 1x1"), conv(st.size, st.in, 1, F, st.stride), false, 1});
        l.push_back({name("*_1 1x1"), conv(out, 4 * F, 1, F, 1), false, st.blocks - 1});
        l.push_back({name("*_2 3x3"), conv(out, F, 3, F, 1), false, st.blocks});
        l.push_back({name("*_3 1x1"), conv(out, F, 1, 4 * F, 1), false, st.blocks});
    }
    return l;
}

std::vector<Layer> mobilenetv2() {
    std::vector<Layer> l{{"Conv1 3x3/2", conv(224, 3, 3, 32, 2), false, 1}};
    // (input size, in channels, expansion, out channels, stride, repeats)
    const struct {
        std::size_t size, in, t, out, stride;
        int repeats;
    } blocks[] = {{112, 32, 1, 16, 1, 1},  {112, 16, 6, 24, 2, 1}, {56, 24, 6, 24, 1, 1}, {56, 24, 6, 32, 2, 1},
                  {28, 32, 6, 32, 1, 2},   {28, 32, 6, 64, 2, 1},  {14, 64, 6, 64, 1, 3}, {14, 64, 6, 96, 1, 1},
                  {14, 96, 6, 96, 1, 2},   {14, 96, 6, 160, 2, 1}, {7, 160, 6, 160, 1, 2}, {7, 160, 6, 320, 1, 1}};
    static std::vector<std::string> names;
    names.reserve(64);
    for (const auto& b : blocks) {
        const std::size_t hidden = b.in * b.t, out = b.size / b.stride;
        auto name = [&](const char* what) {
            names.push_back(std::to_string(b.size) + "px " + std::to_string(b.in) + ">" + std::to_string(b.out) + " " +
                            what);
            return names.back().c_str();
        };
        if (b.t != 1) l.push_back({name("expand"), conv(b.size, b.in, 1, hidden, 1), false, b.repeats});
        l.push_back({name(b.stride == 1 ? "dw 3x3" : "dw 3x3/2"),
                     b.stride == 1 ? conv(b.size, hidden, 3, hidden, 1) : strided_depthwise(b.size, hidden), true,
                     b.repeats});
        l.push_back({name("project"), conv(out, hidden, 1, b.out, 1), false, b.repeats});
    }
    l.push_back({"Conv_1 1x1", conv(7, 320, 1, 1280, 1), false, 1});
    return l;
}


struct Row {
    const Layer* layer;
    std::string shape;
    const char* method;
    double seconds, rate, old;
};

void run_network(const char* network, const std::vector<Layer>& layers, int repeat) {
    // The ceiling is measured before and after the layers and the higher counts: on a
    // shared VM a core can be away for a second (as in conv_layers).
    double ceiling = fma_ceiling();
    std::vector<Row> table;
    double total = 0.0, total_old = 0.0, dw_total = 0.0, pw_total = 0.0;
    for (const Layer& l : layers) {
        const tn::ConvGeometry& g = l.g;
        const std::size_t taps = g.kernel_h * g.kernel_w * (l.depthwise ? 1 : g.in_c);
        const auto x = random_values(batch * g.in_size(), 1);
        const auto kernel = random_values(taps * g.filters, 2);
        const auto bias = random_values(g.filters, 3);
        std::vector<float> y(batch * g.out_size());
        double seconds, old;
        const char* method;
        if (l.depthwise) {
            method = ck::depthwise_detail::simd3x3_applies(g) ? "dw-simd" : "dw-loops";
            seconds = median_seconds(1, repeat, [&] {
                ck::depthwise_conv2d_forward(g, x.data(), batch, kernel.data(), bias.data(), y.data(),
                                             tn::ActivationKind::relu);
            });
            old = median_seconds(1, repeat, [&] {
                ck::depthwise_conv2d_forward_loops(g, x.data(), batch, kernel.data(), bias.data(), y.data(),
                                                   tn::ActivationKind::relu);
            });
            dw_total += seconds * l.count;
        } else {
            const ck::ConvMethod m = ck::conv2d_resolved_method(tn::ConvAlgorithm::automatic, g);
            method = ck::conv_detail::pointwise_applies(g) && m == ck::ConvMethod::im2col ? "pointwise"
                                                                                            : tn::conv_algorithm_name(m);
            seconds = median_seconds(1, repeat, [&] {
                ck::conv2d_forward_by(tn::ConvAlgorithm::automatic, g, x.data(), batch, kernel.data(), bias.data(),
                                      y.data(), tn::ActivationKind::relu);
            });
            old = seconds;
            if (ck::conv_detail::pointwise_applies(g)) {
                // The path before: a 1x1 as im2col rows (stride 2) or one GEMM then a bias/ReLU pass.
                ck::CpuScratch& scratch = ck::CpuScratch::instance();
                old = median_seconds(1, repeat, [&] {
                    if (g.is_pointwise()) {
                        const std::size_t rows = batch * g.out_pixels();
                        ck::gemm(false, false, rows, g.filters, g.in_c, 1.0f, x.data(), g.in_c, kernel.data(),
                                 g.filters, 0.0f, y.data(), g.filters);
                        ck::bias_activation(y.data(), bias.data(), rows, g.filters, tn::ActivationKind::relu);
                    } else {
                        auto lock = scratch.lock();
                        const std::size_t k = g.patch_size(), rows = batch * g.out_pixels();
                        const std::size_t block = ck::conv_detail::rows_per_block(g, rows);
                        float* base = scratch.per_thread(block * k);
                        const std::size_t stride = ck::CpuScratch::per_thread_stride(block * k);
                        tn::parallel_tasks((rows + block - 1) / block, [&](std::size_t task, unsigned slot) {
                            const std::size_t first = task * block, count = std::min(block, rows - first);
                            float* columns = base + slot * stride;
                            ck::im2col_rows(g, x.data(), first, count, columns);
                            float* out = y.data() + first * g.filters;
                            ck::gemm_serial(false, false, count, g.filters, k, 1.0f, columns, k, kernel.data(),
                                            g.filters, 0.0f, out, g.filters);
                            ck::conv_detail::bias_relu_rows(out, bias.data(), count, g.filters, true);
                        });
                    }
                });
                pw_total += seconds * l.count;
            }
        }
        const double flops = 2.0 * double(batch * g.out_pixels()) * double(g.filters) * double(taps);
        total += seconds * l.count;
        total_old += old * l.count;
        char shape[64];
        std::snprintf(shape, sizeof shape, "%zux%zux%zu>%zu/%zu", g.in_h, g.in_w, g.in_c, g.filters, g.stride_h);
        table.push_back({&l, shape, method, seconds, flops / seconds / 1e9, old});
    }
    ceiling = std::max(ceiling, fma_ceiling());
    std::printf("\n%s, batch %zu; FMA ceiling %.1f GFLOP/s (measured)\n%-26s %-18s %8s %9s %9s %7s %6s %10s %12s\n",
                network, batch, ceiling, "layer", "shape", "method", "ms", "GF/s", "of FMA", "calls", "ms/pass",
                "old path ms");
    for (const Row& r : table)
        std::printf("%-26s %-18s %8s %9.2f %9.1f %7.2f %6d %10.1f %12.2f\n", r.layer->name, r.shape.c_str(), r.method,
                    r.seconds * 1e3, r.rate, r.rate / ceiling, r.layer->count, r.seconds * r.layer->count * 1e3,
                    r.old * 1e3);
    std::printf("%s convolutions: %.1f ms per forward pass (1x1: %.1f ms, depthwise: %.1f ms); with the paths "
                "before the pointwise and depthwise kernels: %.1f ms\n",
                network, total * 1e3, pw_total * 1e3, dw_total * 1e3, total_old * 1e3);

    // Folding: the network's most frequent shape, unfolded (conv, BN pass, ReLU pass) vs folded.
    const Layer& l = *std::max_element(layers.begin(), layers.end(), [](const Layer& a, const Layer& b) {
        return a.count * a.g.out_size() < b.count * b.g.out_size();
    });
    const tn::ConvGeometry& g = l.g;
    const std::size_t taps = g.kernel_h * g.kernel_w * (l.depthwise ? 1 : g.in_c), rows = batch * g.out_pixels();
    const auto x = random_values(batch * g.in_size(), 1), kernel = random_values(taps * g.filters, 2);
    const auto ones = std::vector<float>(g.filters, 1.0f), zeros = std::vector<float>(g.filters, 0.0f);
    std::vector<float> y(batch * g.out_size()), z(y.size()), mean(g.filters), inv_std(g.filters);
    auto convolve = [&](float* out, tn::ActivationKind act) {
        if (l.depthwise)
            ck::depthwise_conv2d_forward(g, x.data(), batch, kernel.data(), zeros.data(), out, act);
        else
            ck::conv2d_forward_by(tn::ConvAlgorithm::automatic, g, x.data(), batch, kernel.data(), zeros.data(), out,
                                  act);
    };
    const double unfolded = median_seconds(1, repeat, [&] {
        convolve(y.data(), tn::ActivationKind::linear);
        ck::batchnorm_forward_inference(y.data(), rows, g.filters, ones.data(), zeros.data(), zeros.data(),
                                        ones.data(), 1e-3f, z.data(), mean.data(), inv_std.data());
        ck::bias_activation(z.data(), nullptr, rows, g.filters, tn::ActivationKind::relu);
    });
    const double folded = median_seconds(1, repeat, [&] { convolve(z.data(), tn::ActivationKind::relu); });
    std::printf("%s BatchNormalization folding, %s (x%d): conv + BN + ReLU %.2f ms, folded %.2f ms (%.2fx)\n",
                network, l.name, l.count, unfolded * 1e3, folded * 1e3, unfolded / folded);
}

}  // namespace

int main(int argc, char** argv) {
    int threads = 2, repeat = 3;
    std::string network = "all";
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--threads" && i + 1 < argc)
            threads = std::atoi(argv[++i]);
        else if (arg == "--repeat" && i + 1 < argc)
            repeat = std::atoi(argv[++i]);
        else if (arg == "--network" && i + 1 < argc)
            network = argv[++i];
        else {
            std::fprintf(stderr, "usage: backbone_layers [--threads N] [--repeat N] [--network resnet50|mobilenetv2|all]\n");
            return 2;
        }
    }
    tn::set_cpu_threads(threads);
    std::printf("%d threads; GFLOP/s count 2 x multiply-adds (9 per output for depthwise)\n", tn::cpu_threads());
    if (network == "all" || network == "resnet50") run_network("resnet50", resnet50(), repeat);
    if (network == "all" || network == "mobilenetv2") run_network("mobilenetv2", mobilenetv2(), repeat);
    return 0;
}
