// A numerical gradient checker in the spirit of dlib's: every layer (and whole
// models) must agree with central finite differences on its input gradient and on
// every parameter gradient. The loss is L = sum(y * w) for a fixed random w, so dL/dy = w.
// Each perturbed evaluation starts from a copy of the layer taken before the
// analytic pass, so stateful layers (dropout's mask stream) see the same state.
#pragma once

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "typenet/typenet.hpp"

namespace gradcheck {

namespace tn = typenet;

inline std::vector<float> random_vector(std::size_t n, tn::Random& rng, float low = -1.0f, float high = 1.0f) {
    std::vector<float> v(n);
    for (float& e : v) e = rng.uniform(low, high);
    return v;
}

// Indices to probe: all of them when few, else an even spread of `limit`.
inline std::vector<std::size_t> probe_indices(std::size_t n, std::size_t limit = 150) {
    std::vector<std::size_t> idx;
    if (n <= limit) {
        for (std::size_t i = 0; i < n; ++i) idx.push_back(i);
    } else {
        for (std::size_t k = 0; k < limit; ++k) idx.push_back(k * n / limit + (k * 7919) % std::max<std::size_t>(n / limit, 1));
    }
    return idx;
}

// Visits every parameter of a bound layer or of a whole model.
template <class Layer, class Visit>
void each_parameter(Layer& layer, Visit&& visit) {
    if constexpr (Layer::is_model)
        layer.for_each_parameter([&](std::string_view, auto& p, bool) { visit(p); });
    else
        for (auto& p : layer.parameters()) visit(p);
}

// Visits every state tensor (moving statistics) of a bound layer or of a whole model.
template <class Layer, class Visit>
void each_state(Layer& layer, Visit&& visit) {
    if constexpr (Layer::is_model)
        layer.for_each_state([&](std::string_view, auto& s) { visit(s); });
    else if constexpr (tn::HasState<Layer>)
        for (auto& s : layer.state()) visit(s);
}

struct Tolerance {
    double absolute = 2e-3;
    double relative = 2e-2;
};

// A probe straddles a kink (ReLU at 0, a max-pool tie) when its two one-sided
// differences disagree: the central difference is then meaningless there.
inline bool straddles_kink(double minus, double centre, double plus, float eps) {
    const double left = (centre - minus) / eps, right = (plus - centre) / eps;
    return std::abs(right - left) > 1e-2 * std::max(1.0, std::max(std::abs(left), std::abs(right)));
}

inline bool close(double analytic, double numeric, Tolerance tol) {
    return std::abs(analytic - numeric) <= tol.absolute + tol.relative * std::max(std::abs(analytic), std::abs(numeric));
}

// Layer: a bound layer or a model (anything with the layer protocol, copyable).
template <class Layer>
void check(const std::string& what, std::uint64_t seed, tn::Mode mode = tn::Mode::train, std::size_t batch = 2,
           Tolerance tol = {}, float eps = 1e-3f) {
    using In = typename Layer::input_shape;
    using Out = typename Layer::output_shape;
    tn::Random rng(seed);

    Layer layer;
    layer.initialize(rng);
    // Non-zero biases, so that bias gradients and activations are exercised off zero.
    each_parameter(layer, [&](auto& p) {
        if (p.name == "bias" || p.name == "beta") p.set_values(random_vector(p.size(), rng, -0.3f, 0.3f));
        if (p.name == "gamma") p.set_values(random_vector(p.size(), rng, 0.5f, 1.5f));
    });
    // Moving statistics off their initial 0 and 1, so inference mode is exercised too.
    each_state(layer, [&](auto& s) {
        if (s.name == "moving_mean") s.set_values(random_vector(s.size(), rng, -0.3f, 0.3f));
        if (s.name == "moving_variance") s.set_values(random_vector(s.size(), rng, 0.5f, 1.5f));
    });

    const std::vector<float> x = random_vector(batch * In::size, rng);
    const std::vector<float> w = random_vector(batch * Out::size, rng);
    const Layer snapshot = layer;

    std::vector<float> y(batch * Out::size), dx(batch * In::size, 0.0f);
    layer.forward(x.data(), y.data(), batch, mode);
    layer.backward(x.data(), y.data(), w.data(), dx.data(), batch, false);

    auto loss = [&](Layer candidate, const std::vector<float>& input) {
        std::vector<float> out(batch * Out::size);
        candidate.forward(input.data(), out.data(), batch, mode);
        double total = 0.0;
        for (std::size_t i = 0; i < out.size(); ++i) total += static_cast<double>(out[i]) * w[i];
        return total;
    };

    const double centre = loss(snapshot, x);
    std::size_t failures = 0, probes = 0, kinks = 0;
    for (std::size_t i : probe_indices(x.size())) {
        std::vector<float> plus = x, minus = x;
        plus[i] += eps;
        minus[i] -= eps;
        const double lp = loss(snapshot, plus), lm = loss(snapshot, minus);
        ++probes;
        if (straddles_kink(lm, centre, lp, eps)) {
            ++kinks;
            continue;
        }
        const double numeric = (lp - lm) / (2.0 * eps);
        if (!close(dx[i], numeric, tol) && failures++ < 5)
            BOOST_ERROR(what << ": dL/dx[" << i << "] analytic " << dx[i] << " numeric " << numeric);
    }

    // Parameter gradients: the k-th parameter of the layer (or model), element j.
    std::vector<std::vector<float>> analytic;
    each_parameter(layer, [&](auto& p) { analytic.push_back(p.gradients()); });
    for (std::size_t k = 0; k < analytic.size(); ++k) {
        for (std::size_t j : probe_indices(analytic[k].size())) {
            auto perturbed = [&](float delta) {
                Layer candidate = snapshot;
                std::size_t at = 0;
                each_parameter(candidate, [&](auto& p) {
                    if (at++ != k) return;
                    auto v = p.values();
                    v[j] += delta;
                    p.set_values(v);
                });
                return loss(candidate, x);
            };
            const double lp = perturbed(eps), lm = perturbed(-eps);
            ++probes;
            if (straddles_kink(lm, centre, lp, eps)) {
                ++kinks;
                continue;
            }
            const double numeric = (lp - lm) / (2.0 * eps);
            if (!close(analytic[k][j], numeric, tol) && failures++ < 10)
                BOOST_ERROR(what << ": dL/dparam" << k << "[" << j << "] analytic " << analytic[k][j] << " numeric "
                                 << numeric);
        }
    }
    BOOST_TEST(failures == 0u, what << ": " << failures << " gradient mismatches");
    // Kinks are rare at random points; many skipped probes would hide a broken layer.
    BOOST_TEST(kinks * 10 <= probes, what << ": " << kinks << " of " << probes << " probes straddle a kink");
}

}  // namespace gradcheck
