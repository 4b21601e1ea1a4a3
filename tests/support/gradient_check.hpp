// The public gradient checker (typenet/testing/gradient_check.hpp) as Boost.Test checks:
// one failed check per mismatch it prints, and one that the run as a whole passed.
#pragma once

#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

#include "typenet/testing/gradient_check.hpp"

namespace gradcheck {

namespace tn = typenet;
using tn::testing::random_vector;
using Tolerance = tn::testing::GradientTolerance;

// Layer: a bound layer or a model (anything with the layer protocol, copyable).
template <class Layer>
void check(const std::string& what, std::uint64_t seed, tn::Mode mode = tn::Mode::train, std::size_t batch = 2,
           Tolerance tol = {}, float eps = 1e-3f) {
    const tn::testing::GradientCheckReport report =
        tn::testing::check_gradients<Layer>(seed, {.mode = mode, .batch = batch, .tolerance = tol, .epsilon = eps});
    for (const auto& m : report.first_mismatches)
        BOOST_ERROR(what << ": dL/d" << m.tensor << "[" << m.index << "] analytic " << m.analytic << " numeric "
                         << m.numeric);
    BOOST_TEST(report.mismatches == 0u, what << ": " << report.mismatches << " gradient mismatches");
    BOOST_TEST(report.kinks_rare(), what << ": " << report.kinks << " of " << report.probes
                                         << " probes straddle a kink");
}

}  // namespace gradcheck
