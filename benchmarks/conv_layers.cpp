// benchmarks/conv_layers.cpp
// Per-layer convolution timings for the chapter's networks, each against a same-run
// SGEMM of the im2col shape (rows = batch x output pixels, filters, 9 x channels), the
// product an im2col convolution must do. Rates are nominal: 2 x rows x filters x
// patch flops per pass whatever the method, so Winograd can go above the GEMM rate.
//
//   conv_layers [--threads 2] [--repeat 3] [--network vgg16|basic-cnn|all] [--no-backward]
//               [--conv-algorithm automatic|im2col|winograd|winograd_fast|direct]
//
// First line: the FMA ceiling, measured here (independent FMA chains on every thread, the
// instruction set the kernels run). Columns: the method the algorithm (default automatic)
// runs for the layer, its forward rate and that rate as a fraction of the ceiling (above
// 1 for Winograd, which does fewer multiplies than it is credited); for a Winograd layer
// the products alone (its one GEMM per point over the same blocks of tiles, the
// multiply-adds it really does) as a fraction of the ceiling; forward by im2col (the
// straightforward path, for what the fast one buys); SGEMM split over typenet's
// threads (OpenBLAS single-threaded per block, as the kernels call it) and OpenBLAS's
// own threads; backward input gradient and kernel gradient.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "timing.hpp"
#include "typenet/backend/cpu/kernels.hpp"

extern "C" void openblas_set_num_threads(int num_threads);

namespace tn = typenet;
namespace ck = typenet::cpu_kernels;
using bench::clock_type;
using bench::fma_ceiling;
using bench::median_seconds;
using bench::random_values;

namespace {

struct Layer {
    const char* name;
    std::size_t size, channels, filters;
    bool same;
    std::size_t batch;
    bool needs_dx;  // the first layer never computes an input gradient
};

tn::ConvGeometry geometry_of(const Layer& l) {
    const std::size_t out = l.same ? l.size : l.size - 2;
    const std::size_t pad = l.same ? 1 : 0;
    return {l.size, l.size, l.channels, 3, 3, l.filters, 1, 1, pad, pad, out, out};
}



// SGEMM rate at (rows, n, k), rows capped so the operands stay in memory's reach.
double sgemm_rate(std::size_t rows, std::size_t n, std::size_t k, int repeat, bool openblas_threads, int threads) {
    const std::size_t m = std::min<std::size_t>(rows, 16384);
    const auto a = random_values(m * k, 7), b = random_values(k * n, 8);
    std::vector<float> c(m * n);
    double seconds;
    if (openblas_threads) {
        openblas_set_num_threads(threads);
        seconds = median_seconds(
            1, repeat, [&] { ck::gemm_serial(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c.data(), n); });
        openblas_set_num_threads(1);
    } else {
        seconds = median_seconds(
            1, repeat, [&] { ck::gemm(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c.data(), n); });
    }
    return 2.0 * double(m) * double(n) * double(k) / seconds / 1e9;
}

// The products of a Winograd convolution alone: P GEMMs (tiles x C) * (C x K) per block
// of tiles, blocks over the threads, as winograd::convolve runs them (same block size,
// row strides and register kernel), on random transformed values. GFLOP/s of the
// multiply-adds done; 0 where the register kernel does not apply (K not a multiple of 16
// or no AVX-512: OpenBLAS then, which the sgemm columns measure).
template <std::size_t Tile>
double winograd_product_rate(const tn::ConvGeometry& g, std::size_t batch, int repeat) {
    namespace wg = ck::winograd;
    if (!wg::detail::register_kernel(g.filters)) return 0.0;
    constexpr std::size_t P = wg::Size<Tile>::points;
    const std::size_t C = g.in_c, K = g.filters;
    const std::size_t tiles = batch * ((g.out_h + Tile - 1) / Tile) * ((g.out_w + Tile - 1) / Tile);
    const std::size_t block = wg::block_tiles<Tile>(g, tiles), blocks = (tiles + block - 1) / block;
    const std::size_t ldv = wg::detail::tile_stride(P * C), ldm = wg::detail::tile_stride(P * K);
    const std::size_t threads = static_cast<std::size_t>(tn::cpu_threads());
    const auto U = random_values(P * C * K, 5);
    std::vector<std::vector<float>> V, M;
    for (std::size_t t = 0; t < threads; ++t) {
        V.push_back(random_values(block * ldv, 6 + unsigned(t)));
        M.emplace_back(block * ldm);
    }
    const double seconds = median_seconds(1, repeat, [&] {
        tn::parallel_tasks(blocks, [&](std::size_t task, unsigned slot) {
            const std::size_t count = std::min(block, tiles - task * block);
            for (std::size_t xi = 0; xi < P; ++xi)
                wg::detail::multiply(V[slot].data() + xi * C, ldv, U.data() + xi * C * K, M[slot].data() + xi * K, ldm,
                                     count, C, K);
        });
    });
    return 2.0 * double(P * tiles) * double(C * K) / seconds / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
    int threads = 2, repeat = 3;
    std::string network = "all";
    bool backward = true;
    tn::ConvAlgorithm algorithm = tn::ConvAlgorithm::automatic;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--threads" && i + 1 < argc)
            threads = std::atoi(argv[++i]);
        else if (arg == "--repeat" && i + 1 < argc)
            repeat = std::atoi(argv[++i]);
        else if (arg == "--network" && i + 1 < argc)
            network = argv[++i];
        else if (arg == "--no-backward")
            backward = false;
        else if (arg == "--conv-algorithm" && i + 1 < argc) {
            try {
                algorithm = tn::parse_conv_algorithm(argv[++i], "--conv-algorithm");
            } catch (const std::exception& e) {
                std::fprintf(stderr, "conv_layers: %s\n", e.what());
                return 2;
            }
        } else {
            std::fprintf(stderr, "usage: conv_layers [--threads N] [--repeat N] [--network vgg16|basic-cnn|all] "
                                 "[--no-backward] [--conv-algorithm automatic|im2col|winograd|winograd_fast|direct]\n");
            return 2;
        }
    }
    tn::set_cpu_threads(threads);

    std::vector<Layer> layers;
    if (network == "all" || network == "vgg16") {
        const Layer vgg[] = {{"block1_conv1", 150, 3, 64, true, 32, false},   {"block1_conv2", 150, 64, 64, true, 32, true},
                             {"block2_conv1", 75, 64, 128, true, 32, true},   {"block2_conv2", 75, 128, 128, true, 32, true},
                             {"block3_conv1", 37, 128, 256, true, 32, true},  {"block3_conv2", 37, 256, 256, true, 32, true},
                             {"block3_conv3", 37, 256, 256, true, 32, true},  {"block4_conv1", 18, 256, 512, true, 32, true},
                             {"block4_conv2", 18, 512, 512, true, 32, true},  {"block4_conv3", 18, 512, 512, true, 32, true},
                             {"block5_conv1", 9, 512, 512, true, 32, true},   {"block5_conv2", 9, 512, 512, true, 32, true},
                             {"block5_conv3", 9, 512, 512, true, 32, true}};
        layers.insert(layers.end(), std::begin(vgg), std::end(vgg));
    }
    if (network == "all" || network == "basic-cnn") {
        const Layer basic[] = {{"conv2d_1 (model A)", 150, 3, 16, false, 30, false},
                               {"conv2d_2 (model A)", 74, 16, 64, false, 30, true},
                               {"conv2d_3 (model A)", 36, 64, 128, false, 30, true}};
        layers.insert(layers.end(), std::begin(basic), std::end(basic));
    }

    // The ceiling is measured before and after the layers and the higher counts: on a
    // shared VM a core can be away for a second (seen: half the ceiling at the start).
    double ceiling = fma_ceiling();
    struct Row {
        std::string name, shape, method;
        double fwd_ms, fwd_rate, products, im2col, sgemm, blas_threads, dx, dw;
    };
    std::vector<Row> rows_out;
    double total_forward = 0.0, total_im2col = 0.0;
    for (const Layer& l : layers) {
        const tn::ConvGeometry g = geometry_of(l);
        const auto x = random_values(l.batch * g.in_size(), 1);
        const auto kernel = random_values(g.patch_size() * g.filters, 2);
        const auto bias = random_values(g.filters, 3);
        std::vector<float> y(l.batch * g.out_size());
        const double rows = double(l.batch * g.out_pixels());
        const double flops = 2.0 * rows * double(g.filters) * double(g.patch_size());
        const ck::ConvMethod method = ck::conv2d_resolved_method(algorithm, g);
        const double fwd = median_seconds(1, repeat, [&] {
            ck::conv2d_forward_by(algorithm, g, x.data(), l.batch, kernel.data(), bias.data(), y.data(),
                                  tn::ActivationKind::relu);
        });
        const double im2col = median_seconds(1, repeat, [&] {
            ck::conv2d_forward_by(ck::ConvMethod::im2col, g, x.data(), l.batch, kernel.data(), bias.data(), y.data(),
                                  tn::ActivationKind::relu);
        });
        double products = 0.0;
        if (method == ck::ConvMethod::winograd) products = winograd_product_rate<2>(g, l.batch, repeat);
        if (method == ck::ConvMethod::winograd_fast) products = winograd_product_rate<4>(g, l.batch, repeat);
        total_forward += fwd;
        total_im2col += im2col;
        const double sgemm = sgemm_rate(l.batch * g.out_pixels(), g.filters, g.patch_size(), repeat, false, threads);
        const double blas_threads = sgemm_rate(l.batch * g.out_pixels(), g.filters, g.patch_size(), repeat, true, threads);
        double dx_rate = 0.0, dw_rate = 0.0;
        if (backward) {
            const auto dz = random_values(l.batch * g.out_size(), 4);
            std::vector<float> dx(l.batch * g.in_size()), dk(g.patch_size() * g.filters), db(g.filters);
            const double dw = median_seconds(1, repeat, [&] {
                ck::conv2d_backward_by(algorithm, g, x.data(), l.batch, kernel.data(), dz.data(),
                                       nullptr, dk.data(), db.data());
            });
            dw_rate = flops / dw / 1e9;
            if (l.needs_dx) {
                const double dx_s = median_seconds(1, repeat, [&] {
                    ck::conv2d_backward_by(algorithm, g, x.data(), l.batch, kernel.data(), dz.data(),
                                           dx.data(), nullptr, nullptr);
                });
                dx_rate = flops / dx_s / 1e9;
            }
        }
        char shape[64];
        std::snprintf(shape, sizeof shape, "%zux%zux%zu>%zu", l.size, l.size, l.channels, l.filters);
        rows_out.push_back({l.name, shape, tn::conv_algorithm_name(method), fwd * 1e3, flops / fwd / 1e9, products,
                            flops / im2col / 1e9, sgemm, blas_threads, dx_rate, dw_rate});
        std::fprintf(stderr, "%s done\n", l.name);  // progress; the table comes at the end
    }
    ceiling = std::max(ceiling, fma_ceiling());
    std::printf("%d threads; FMA ceiling %.1f GFLOP/s (measured); GFLOP/s are nominal (2 x rows x filters x 9C per "
                "pass)\n", tn::cpu_threads(), ceiling);
    std::printf("%-20s %-16s %13s %9s %9s %7s %9s %9s %9s %9s %9s %9s\n", "layer", "shape", "method", "fwd ms",
                "fwd GF/s", "of FMA", "products", "im2col", "sgemm", "blas-thr", "dx GF/s", "dW GF/s");
    for (const Row& r : rows_out) {
        char products_text[16] = "-";
        if (r.products > 0.0) std::snprintf(products_text, sizeof products_text, "%.2f", r.products / ceiling);
        std::printf("%-20s %-16s %13s %9.1f %9.1f %7.2f %9s %9.1f %9.1f %9.1f %9.1f %9.1f\n", r.name.c_str(),
                    r.shape.c_str(), r.method.c_str(), r.fwd_ms, r.fwd_rate, r.fwd_rate / ceiling, products_text,
                    r.im2col, r.sgemm, r.blas_threads, r.dx, r.dw);
    }
    std::printf("forward total: %.1f ms (im2col everywhere: %.1f ms)\n", total_forward * 1e3, total_im2col * 1e3);
    return 0;
}
