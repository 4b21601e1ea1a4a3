// The vectorised elementwise passes against one-element loops: bias + activation
// (linear and ReLU fused and vectorised, sigmoid and softmax per row), the ReLU
// gradient, column sums; sizes that are not multiples of 16 and large enough to split
// over threads.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <vector>

#include "reference.hpp"
#include "typenet/backend/cpu/kernels.hpp"

namespace tn = typenet;
namespace ck = typenet::cpu_kernels;

BOOST_AUTO_TEST_CASE(bias_and_activation_match_elementwise_loops) {
    for (std::size_t cols : {1u, 7u, 16u, 37u, 130u}) {
        const std::size_t rows = 70000 / cols + 3;
        const auto x = cpu_test::random_values(rows * cols, 21, -3.0f, 3.0f);
        const auto bias = cpu_test::random_values(cols, 22);
        for (auto act : {tn::ActivationKind::linear, tn::ActivationKind::relu, tn::ActivationKind::sigmoid}) {
            auto y = x;
            ck::bias_activation(y.data(), bias.data(), rows, cols, act);
            std::vector<float> expected(x.size());
            for (std::size_t r = 0; r < rows; ++r)
                for (std::size_t c = 0; c < cols; ++c) {
                    const float z = x[r * cols + c] + bias[c];
                    expected[r * cols + c] = act == tn::ActivationKind::linear ? z
                                             : act == tn::ActivationKind::relu ? (z > 0.0f ? z : 0.0f)
                                                                               : 1.0f / (1.0f + std::exp(-z));
                }
            BOOST_TEST_INFO("cols " << cols << " activation " << tn::activation_name(act));
            BOOST_TEST(cpu_test::relative_error(y, expected) < 1e-6);
        }
    }
}

BOOST_AUTO_TEST_CASE(relu_gradient_and_column_sums_match_loops) {
    const std::size_t rows = 3001, cols = 37;
    auto y = cpu_test::random_values(rows * cols, 23);
    for (std::size_t i = 0; i < y.size(); i += 3) y[i] = 0.0f;  // ReLU's flat part, gradient 0
    const auto dy = cpu_test::random_values(rows * cols, 24);
    std::vector<float> dz(rows * cols, 9.0f), expected(rows * cols);
    ck::activation_backward(y.data(), dy.data(), dz.data(), rows, cols, tn::ActivationKind::relu);
    for (std::size_t i = 0; i < y.size(); ++i) expected[i] = y[i] > 0.0f ? dy[i] : 0.0f;
    BOOST_TEST(dz == expected, boost::test_tools::per_element());

    // Column sums: many columns, few columns over many rows (split rows), small.
    for (const auto& [r_count, c_count] : {std::pair<std::size_t, std::size_t>{3001, 37}, {20000, 16}, {9000, 21},
                                          {5, 3}, {700, 130}}) {
        const auto values = cpu_test::random_values(r_count * c_count, 25);
        std::vector<float> sums(c_count, 5.0f);
        std::vector<double> exact(c_count, 0.0);
        ck::column_sums(values.data(), r_count, c_count, sums.data());
        for (std::size_t r = 0; r < r_count; ++r)
            for (std::size_t c = 0; c < c_count; ++c) exact[c] += values[r * c_count + c];
        BOOST_TEST_INFO(r_count << " x " << c_count);
        BOOST_TEST(cpu_test::relative_error(sums, std::vector<float>(exact.begin(), exact.end())) < 1e-5);
    }
}
