// typenet/testing/gradient_check.hpp
// A numerical gradient checker, in the spirit of dlib's: a layer's backward must agree
// with central finite differences of its forward, on the input gradient and on every
// parameter gradient. Every library layer (and whole models) passes it in the tests;
// a layer written outside the library checks itself the same way (docs/layers.md):
//
//   auto report = typenet::testing::check_gradients<MyLayer<Shape<4, 4, 3>, cpu, "mine">>(seed);
//   if (!report.passed()) std::cerr << report.summary("MyLayer") << '\n';
//
// The loss is L = sum(y * w) for a fixed random w, so dL/dy = w. Each perturbed
// evaluation starts from a copy of the layer taken before the analytic pass, so a layer
// with state (dropout's mask stream) sees the same state every time. Layers compute in
// float32, so the tolerances are loose; a wrong formula is off by far more.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "typenet/core/device.hpp"
#include "typenet/core/random.hpp"
#include "typenet/layers/state.hpp"

namespace typenet::testing {

struct GradientTolerance {
    double absolute = 2e-3;
    double relative = 2e-2;
};

struct GradientCheckOptions {
    Mode mode = Mode::train;  // the mode forward runs in
    std::size_t batch = 2;
    GradientTolerance tolerance{};
    float epsilon = 1e-3f;          // the finite-difference step
    std::size_t probe_limit = 150;  // elements probed per tensor: all of them when fewer
};

// One gradient element where backward and the finite difference disagree.
struct GradientMismatch {
    std::string tensor;  // "x" (the input) or the parameter's name ("kernel", "conv2d_1/bias")
    std::size_t index = 0;
    double analytic = 0.0;
    double numeric = 0.0;
};

struct GradientCheckReport {
    std::size_t probes = 0;      // elements compared
    std::size_t kinks = 0;       // probes skipped because they straddle a kink (ReLU at 0, a max tie)
    std::size_t mismatches = 0;  // probes that disagree
    std::vector<GradientMismatch> first_mismatches;  // the first few, to print

    // Kinks are rare at random points; many skipped probes would hide a broken layer.
    [[nodiscard]] bool kinks_rare() const { return kinks * 10 <= probes; }
    [[nodiscard]] bool passed() const { return mismatches == 0 && kinks_rare(); }

    [[nodiscard]] std::string summary(std::string_view what) const {
        std::ostringstream out;
        out << what << ": " << mismatches << " gradient mismatches, " << kinks << " of " << probes
            << " probes straddle a kink";
        for (const GradientMismatch& m : first_mismatches)
            out << "\n  dL/d" << m.tensor << "[" << m.index << "] analytic " << m.analytic << " numeric " << m.numeric;
        return out.str();
    }
};

// Uniform random floats in [low, high), from rng.
inline std::vector<float> random_vector(std::size_t n, Random& rng, float low = -1.0f, float high = 1.0f) {
    std::vector<float> v(n);
    for (float& e : v) e = rng.uniform(low, high);
    return v;
}

namespace detail {

// Indices to probe: all of them when few, else an even spread of `limit`.
inline std::vector<std::size_t> probe_indices(std::size_t n, std::size_t limit) {
    std::vector<std::size_t> idx;
    if (n <= limit) {
        for (std::size_t i = 0; i < n; ++i) idx.push_back(i);
    } else {
        for (std::size_t k = 0; k < limit; ++k)
            idx.push_back(k * n / limit + (k * 7919) % std::max<std::size_t>(n / limit, 1));
    }
    return idx;
}

// Visits every parameter, with its name, of a bound layer or of a whole model.
template <class Layer, class Visit>
void each_parameter(Layer& layer, Visit&& visit) {
    if constexpr (Layer::is_model)
        layer.for_each_parameter([&](std::string_view path, auto& p, bool) { visit(path, p); });
    else
        for (auto& p : layer.parameters()) visit(p.name, p);
}

// Visits every state tensor (moving statistics) of a bound layer or of a whole model.
template <class Layer, class Visit>
void each_state(Layer& layer, Visit&& visit) {
    if constexpr (Layer::is_model)
        layer.for_each_state([&](std::string_view, auto& s) { visit(s); });
    else if constexpr (HasState<Layer>)
        for (auto& s : layer.state()) visit(s);
}

// A probe straddles a kink when its two one-sided differences disagree: the central
// difference is then meaningless there.
inline bool straddles_kink(double minus, double centre, double plus, float eps) {
    const double left = (centre - minus) / eps, right = (plus - centre) / eps;
    return std::abs(right - left) > 1e-2 * std::max(1.0, std::max(std::abs(left), std::abs(right)));
}

inline bool close(double analytic, double numeric, GradientTolerance tol) {
    return std::abs(analytic - numeric) <=
           tol.absolute + tol.relative * std::max(std::abs(analytic), std::abs(numeric));
}

}  // namespace detail

// Does nothing to the layer before the check.
struct KeepInitialValues {
    template <class Layer>
    void operator()(Layer&, Random&) const {}
};

// Layer: a bound layer (layers/contract.hpp's BoundLayer) or a model; it is copied for
// every probe. Its parameters start from its initializers, with biases, BatchNorm's
// gamma and beta and its moving statistics moved off their initial constants so that
// every path is exercised; prepare(layer, rng) then moves the layer's own parameters
// off theirs (a slope initialised to zero hides half of a backward pass).
template <class Layer, class Prepare = KeepInitialValues>
GradientCheckReport check_gradients(std::uint64_t seed, const GradientCheckOptions& options = {},
                                    Prepare&& prepare = {}) {
    using In = typename Layer::input_shape;
    using Out = typename Layer::output_shape;
    constexpr std::size_t kept = 10;
    const std::size_t batch = options.batch;
    const float eps = options.epsilon;
    Random rng(seed);

    Layer layer;
    layer.initialize(rng);
    detail::each_parameter(layer, [&](std::string_view, auto& p) {
        if (p.name == "bias" || p.name == "beta") p.set_values(random_vector(p.size(), rng, -0.3f, 0.3f));
        if (p.name == "gamma") p.set_values(random_vector(p.size(), rng, 0.5f, 1.5f));
    });
    detail::each_state(layer, [&](auto& s) {
        if (s.name == "moving_mean") s.set_values(random_vector(s.size(), rng, -0.3f, 0.3f));
        if (s.name == "moving_variance") s.set_values(random_vector(s.size(), rng, 0.5f, 1.5f));
    });
    prepare(layer, rng);

    const std::vector<float> x = random_vector(batch * In::size, rng);
    const std::vector<float> w = random_vector(batch * Out::size, rng);
    const Layer snapshot = layer;

    std::vector<float> y(batch * Out::size), dx(batch * In::size, 0.0f);
    layer.forward(x.data(), y.data(), batch, options.mode);
    layer.backward(x.data(), y.data(), w.data(), dx.data(), batch, false);

    auto loss = [&](Layer candidate, const std::vector<float>& input) {
        std::vector<float> out(batch * Out::size);
        candidate.forward(input.data(), out.data(), batch, options.mode);
        double total = 0.0;
        for (std::size_t i = 0; i < out.size(); ++i) total += static_cast<double>(out[i]) * w[i];
        return total;
    };

    GradientCheckReport report;
    const double centre = loss(snapshot, x);
    // Compares one probe from its two perturbed losses.
    auto compare = [&](std::string_view tensor, std::size_t index, double analytic, double lp, double lm) {
        ++report.probes;
        if (detail::straddles_kink(lm, centre, lp, eps)) {
            ++report.kinks;
            return;
        }
        const double numeric = (lp - lm) / (2.0 * eps);
        if (detail::close(analytic, numeric, options.tolerance)) return;
        if (report.mismatches++ < kept)
            report.first_mismatches.push_back({std::string(tensor), index, analytic, numeric});
    };

    for (std::size_t i : detail::probe_indices(x.size(), options.probe_limit)) {
        std::vector<float> plus = x, minus = x;
        plus[i] += eps;
        minus[i] -= eps;
        compare("x", i, dx[i], loss(snapshot, plus), loss(snapshot, minus));
    }

    // Parameter gradients: the k-th parameter of the layer (or model), element j.
    std::vector<std::vector<float>> analytic;
    std::vector<std::string> names;
    detail::each_parameter(layer, [&](std::string_view name, auto& p) {
        analytic.push_back(p.gradients());
        names.emplace_back(name);
    });
    for (std::size_t k = 0; k < analytic.size(); ++k) {
        for (std::size_t j : detail::probe_indices(analytic[k].size(), options.probe_limit)) {
            auto perturbed = [&](float delta) {
                Layer candidate = snapshot;
                std::size_t at = 0;
                detail::each_parameter(candidate, [&](std::string_view, auto& p) {
                    if (at++ != k) return;
                    auto v = p.values();
                    v[j] += delta;
                    p.set_values(v);
                });
                return loss(candidate, x);
            };
            compare(names[k], j, analytic[k][j], perturbed(eps), perturbed(-eps));
        }
    }
    return report;
}

}  // namespace typenet::testing
