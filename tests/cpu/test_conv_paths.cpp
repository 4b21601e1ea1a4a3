// Every convolution method against the direct reference: Winograd F(2x2, 3x3) and
// F(4x4, 3x3) forward and input gradient, F(3x3, 2x2) and F(3x3, 4x4) kernel gradients, the direct few-channel kernel, blocked im2col, the kernel and bias
// gradients; odd sizes, channel counts that are not multiples of 16, 'same' and
// 'valid', strides (which Winograd hands to im2col), and each instruction set.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "isa_scope.hpp"
#include "reference.hpp"
#include "typenet/backend/cpu/kernels.hpp"

namespace tn = typenet;
namespace ck = typenet::cpu_kernels;
using cpu_test::geometry;
using cpu_test::relative_error;

namespace {

struct Case {
    std::size_t h, w, c, k, filters, stride;
    bool same;
    std::size_t batch;
};

std::string describe(const Case& s) {
    return std::to_string(s.h) + "x" + std::to_string(s.w) + "x" + std::to_string(s.c) + " k" + std::to_string(s.k) +
           " f" + std::to_string(s.filters) + " s" + std::to_string(s.stride) + (s.same ? " same" : " valid") +
           " batch " + std::to_string(s.batch);
}

// Forward by `method` against the reference, with ReLU and without.
void check_forward(ck::ConvMethod method, const Case& s, double tolerance) {
    const tn::ConvGeometry g = geometry(s.h, s.w, s.c, s.k, s.filters, s.stride, s.same);
    const auto x = cpu_test::random_values(s.batch * g.in_size(), 1);
    const auto kernel = cpu_test::random_values(g.patch_size() * g.filters, 2, -0.5f, 0.5f);
    const auto bias = cpu_test::random_values(g.filters, 3);
    for (bool relu : {false, true}) {
        std::vector<float> y(s.batch * g.out_size(), 123.0f);
        ck::conv2d_forward_by(method, g, x.data(), s.batch, kernel.data(), bias.data(), y.data(),
                              relu ? tn::ActivationKind::relu : tn::ActivationKind::linear);
        const auto expected = cpu_test::conv_forward(g, x, s.batch, kernel, bias, relu);
        const double error = relative_error(y, expected);
        BOOST_TEST_INFO(describe(s) << (relu ? " relu" : " linear") << ": relative error " << error);
        BOOST_TEST(error < tolerance);
    }
}

void check_backward(ck::ConvMethod method, const Case& s, double tolerance) {
    const tn::ConvGeometry g = geometry(s.h, s.w, s.c, s.k, s.filters, s.stride, s.same);
    const auto x = cpu_test::random_values(s.batch * g.in_size(), 4);
    const auto kernel = cpu_test::random_values(g.patch_size() * g.filters, 5, -0.5f, 0.5f);
    const auto dz = cpu_test::random_values(s.batch * g.out_size(), 6);
    std::vector<float> dx(s.batch * g.in_size(), 7.0f), dk(g.patch_size() * g.filters, 7.0f), db(g.filters, 7.0f);
    ck::conv2d_backward_by(method, g, x.data(), s.batch, kernel.data(), dz.data(), dx.data(), dk.data(), db.data());
    const auto expected = cpu_test::conv_backward(g, x, s.batch, kernel, dz);
    BOOST_TEST_INFO(describe(s));
    BOOST_TEST(relative_error(dx, expected.dx) < tolerance);
    BOOST_TEST(relative_error(dk, expected.dkernel) < tolerance);
    BOOST_TEST(relative_error(db, expected.dbias) < 1e-5);
}

using cpu_test::IsaScope;
using cpu_test::isas_here;

// Both Winograd sizes: F(2x2, 3x3) (`winograd`) and F(4x4, 3x3) (`winograd_fast`).
const ck::ConvMethod winograd_methods[] = {ck::ConvMethod::winograd, ck::ConvMethod::winograd_fast};

const std::vector<Case> winograd_cases{
    {8, 8, 16, 3, 16, 1, true, 2},    // whole tiles, whole vectors
    {7, 9, 19, 3, 17, 1, true, 3},    // partial tiles, partial vectors, 'same'
    {11, 6, 8, 3, 33, 1, false, 2},   // 'valid'
    {5, 13, 24, 3, 8, 1, false, 1},   // one tile row
    {18, 18, 32, 3, 48, 1, true, 2},  // several tile blocks per image
    {3, 3, 9, 3, 10, 1, true, 4},     // smaller than one tile
};

}  // namespace

BOOST_AUTO_TEST_CASE(winograd_forward_matches_direct_convolution) {
    for (const Case& s : winograd_cases) {
        BOOST_TEST(ck::winograd::applies(geometry(s.h, s.w, s.c, s.k, s.filters, s.stride, s.same)));
        for (ck::ConvMethod m : winograd_methods) check_forward(m, s, 1e-4);
    }
}

BOOST_AUTO_TEST_CASE(winograd_is_what_automatic_picks_for_3x3_stride_1) {
    BOOST_TEST((ck::conv2d_forward_method(geometry(20, 20, 64, 3, 64, 1, true)) == ck::ConvMethod::winograd));
    BOOST_TEST((ck::conv2d_forward_method(geometry(20, 20, 64, 3, 64, 2, true)) == ck::ConvMethod::im2col));
    BOOST_TEST((ck::conv2d_forward_method(geometry(20, 20, 64, 5, 64, 1, true)) == ck::ConvMethod::im2col));
    BOOST_TEST((ck::conv2d_forward_method(geometry(20, 20, 3, 3, 64, 1, true)) == ck::ConvMethod::direct));
    for (const Case& s : winograd_cases) check_forward(ck::ConvMethod::automatic, s, 1e-4);
}

BOOST_AUTO_TEST_CASE(winograd_falls_back_where_it_does_not_apply) {
    for (ck::ConvMethod m : winograd_methods) {
        check_forward(m, {9, 11, 16, 3, 16, 2, true, 2}, 1e-5);   // stride 2
        check_forward(m, {9, 11, 16, 5, 16, 1, true, 2}, 1e-5);   // 5x5
        check_backward(m, {9, 11, 16, 3, 16, 2, true, 2}, 1e-5);  // stride 2
    }
}

BOOST_AUTO_TEST_CASE(winograd_input_and_kernel_gradients_match_reference) {
    for (ck::ConvMethod m : winograd_methods)
        for (const Case& s : winograd_cases) check_backward(m, s, 1e-4);
}

BOOST_AUTO_TEST_CASE(im2col_forward_and_backward_match_reference) {
    const std::vector<Case> cases{{7, 9, 19, 3, 17, 1, true, 3}, {9, 8, 5, 5, 7, 2, true, 2},
                                  {10, 7, 3, 3, 6, 2, false, 2}, {6, 6, 4, 1, 9, 1, false, 2},
                                  {12, 11, 2, 4, 5, 3, true, 2}};
    for (const Case& s : cases) {
        check_forward(ck::ConvMethod::im2col, s, 1e-5);
        check_backward(ck::ConvMethod::im2col, s, 1e-5);
    }
}

BOOST_AUTO_TEST_CASE(direct_few_channel_kernel_matches_reference) {
    const std::vector<Case> cases{{15, 15, 3, 3, 16, 1, false, 2}, {13, 10, 3, 3, 64, 1, true, 2},
                                  {9, 14, 1, 3, 32, 1, true, 1},   {11, 9, 2, 5, 48, 2, true, 3},
                                  {7, 19, 2, 3, 16, 2, false, 2}};
    for (const Case& s : cases) {
        BOOST_TEST(ck::conv_detail::direct_applies(geometry(s.h, s.w, s.c, s.k, s.filters, s.stride, s.same)));
        check_forward(ck::ConvMethod::direct, s, 1e-5);
        check_backward(ck::ConvMethod::direct, s, 1e-5);
    }
    check_forward(ck::ConvMethod::direct, {9, 9, 3, 3, 20, 1, true, 2}, 1e-5);  // 20 filters: im2col instead
    check_forward(ck::ConvMethod::direct, {9, 9, 4, 5, 16, 1, true, 2}, 1e-5);  // 100 taps: im2col instead
    check_backward(ck::ConvMethod::direct, {9, 9, 4, 5, 16, 1, true, 2}, 1e-5);
}

BOOST_AUTO_TEST_CASE(every_instruction_set_computes_the_same_convolutions) {
    for (ck::simd::Isa isa : isas_here()) {
        IsaScope scope(isa);
        BOOST_TEST_INFO("instruction set " << int(isa));
        for (ck::ConvMethod m : winograd_methods) {
            check_forward(m, {7, 9, 19, 3, 17, 1, true, 2}, 1e-4);
            check_backward(m, {7, 9, 19, 3, 17, 1, false, 2}, 1e-4);
        }
        for (std::size_t filters : {16u, 32u, 48u, 64u}) {  // each register blocking of the direct kernels
            check_forward(ck::ConvMethod::direct, {13, 10, 3, 3, filters, 1, true, 2}, 1e-5);
            check_backward(ck::ConvMethod::direct, {13, 10, 3, 3, filters, 1, true, 2}, 1e-5);
        }
        check_forward(ck::ConvMethod::im2col, {9, 8, 5, 5, 7, 2, true, 2}, 1e-5);
    }
}

// Bodies compiled for some instruction sets only (the register-blocked kernels): each runs
// under the instruction sets it is built for, and one built for AVX-512 alone refuses the
// others rather than running AVX-512 code on a CPU that may not have it.
BOOST_AUTO_TEST_CASE(bodies_built_for_some_instruction_sets_run_only_there) {
    for (ck::simd::Isa isa : isas_here()) {
        IsaScope scope(isa);
        BOOST_TEST_INFO("instruction set " << int(isa));
        int runs = 0;
        ck::simd::run<ck::simd::Builds::below_avx512>([&]() TYPENET_SIMD { ++runs; });
        ck::simd::run<ck::simd::Builds::all>([&]() TYPENET_SIMD { ++runs; });
        BOOST_TEST(runs == 2);
        if (isa == ck::simd::Isa::avx512) {
            ck::simd::run<ck::simd::Builds::avx512_only>([&]() TYPENET_SIMD { ++runs; });
            BOOST_TEST(runs == 3);
        } else {
            BOOST_CHECK_THROW(ck::simd::run<ck::simd::Builds::avx512_only>([&]() TYPENET_SIMD { ++runs; }),
                              std::logic_error);
            BOOST_TEST(runs == 2);
        }
    }
}

BOOST_AUTO_TEST_CASE(gradients_without_dx_or_dkernel_leave_them_alone) {
    const tn::ConvGeometry g = geometry(8, 8, 16, 3, 16, 1, true);
    const auto x = cpu_test::random_values(2 * g.in_size(), 1);
    const auto kernel = cpu_test::random_values(g.patch_size() * g.filters, 2);
    const auto dz = cpu_test::random_values(2 * g.out_size(), 3);
    std::vector<float> dk(g.patch_size() * g.filters);
    ck::conv2d_backward_by(ck::ConvMethod::automatic, g, x.data(), 2, kernel.data(), dz.data(), nullptr, dk.data(),
                           nullptr);
    BOOST_TEST(relative_error(dk, cpu_test::conv_backward(g, x, 2, kernel, dz).dkernel) < 1e-5);
}

// Whole groups of 12 rows take another path than partial ones, and C = 37 / 64 give a
// partial / no partial chunk of the sums; the row strides differ from C (tile_stride).
BOOST_AUTO_TEST_CASE(winograd_register_kernel_equals_gemm) {
    if (ck::simd::active_isa() != ck::simd::Isa::avx512) {  // compiled for AVX-512 alone (simd::Builds)
        BOOST_TEST_MESSAGE("this CPU has no AVX-512: the register kernel never runs here");
        return;
    }
    for (std::size_t C : {37u, 64u})
        for (std::size_t rows : {1u, 11u, 12u, 13u, 24u, 30u})
            for (std::size_t K : {16u, 32u, 48u, 80u}) {
                const std::size_t ldv = C + 5, ldm = K + 3;
                const auto V = cpu_test::random_values(rows * ldv, 31), U = cpu_test::random_values(C * K, 32);
                std::vector<float> M(rows * ldm, 5.0f), expected(rows * ldm, 5.0f), panels(C * K);
                for (std::size_t c = 0; c < C; ++c)
                    for (std::size_t k = 0; k < K; k += 16)
                        for (std::size_t i = 0; i < 16; ++i)
                            panels[ck::winograd::detail::panel_offset(c, k, C, K) + i] = U[c * K + k + i];
                ck::winograd::detail::multiply(V.data(), ldv, panels.data(), M.data(), ldm, rows, C, K);
                ck::gemm_serial(false, false, rows, K, C, 1.0f, V.data(), ldv, U.data(), K, 0.0f, expected.data(), ldm);
                BOOST_TEST_INFO(rows << " rows, " << C << " channels, " << K << " columns");
                BOOST_TEST(relative_error(M, expected) < 1e-6);  // the gaps between rows (5.0) untouched too
            }
}

// Training must be reproducible: the kernel gradient is a sum over the batch split across
// threads, and it must come out bit for bit the same on every run, whichever thread ends
// up with which tiles (the pool hands tasks out dynamically). Run with 2 and 3 threads,
// many times, for each method that sums per thread.
BOOST_AUTO_TEST_CASE(kernel_gradients_are_the_same_bits_on_every_run) {
    const struct {
        ck::ConvMethod method;
        Case shape;
    } cases[] = {{ck::ConvMethod::winograd, {18, 18, 32, 3, 48, 1, true, 6}},
                 {ck::ConvMethod::winograd_fast, {18, 18, 32, 3, 48, 1, true, 6}},
                 {ck::ConvMethod::direct, {40, 40, 3, 3, 16, 1, false, 6}},
                 {ck::ConvMethod::im2col, {21, 21, 8, 3, 16, 2, true, 6}}};
    for (int threads : {2, 3}) {
        tn::set_cpu_threads(threads);
        for (const auto& c : cases) {
            const tn::ConvGeometry g = geometry(c.shape.h, c.shape.w, c.shape.c, c.shape.k, c.shape.filters,
                                                c.shape.stride, c.shape.same);
            const auto x = cpu_test::random_values(c.shape.batch * g.in_size(), 8);
            const auto kernel = cpu_test::random_values(g.patch_size() * g.filters, 9, -0.5f, 0.5f);
            const auto dz = cpu_test::random_values(c.shape.batch * g.out_size(), 10);
            std::vector<float> first;
            bool identical = true;
            for (int run = 0; run < 12; ++run) {
                std::vector<float> dk(g.patch_size() * g.filters), db(g.filters);
                ck::conv2d_backward_by(c.method, g, x.data(), c.shape.batch, kernel.data(), dz.data(), nullptr,
                                       dk.data(), db.data());
                if (run == 0)
                    first = dk;
                else
                    identical = identical && dk == first;
            }
            BOOST_TEST_INFO(describe(c.shape) << ", " << threads << " threads");
            BOOST_TEST(identical);
        }
    }
    tn::set_cpu_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}
