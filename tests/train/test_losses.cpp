// Losses: the values and metrics Keras 2.2 computes (fixtures made by
// tests/fixtures/make_keras_fixtures.py), gradients against central finite
// differences, and the fused (p - y) gradient against the unfused one pushed through
// the activation.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "support.hpp"
#include "typenet/backend/cpu/kernels.hpp"
#include "typenet/train/losses.hpp"

namespace tn = typenet;
namespace ck = typenet::cpu_kernels;

namespace {

struct Totals {
    double loss, accuracy, invalid;
};

Totals run(tn::LossKind kind, bool from_logits, const std::vector<float>& pred, const std::vector<float>& target,
           std::size_t rows, std::size_t cols, std::vector<float>* grad = nullptr, bool wrt_pre = false,
           float scale = 1.0f) {
    float totals[3] = {-1, -1, -1};
    if (grad != nullptr) grad->assign(rows * cols, std::numeric_limits<float>::quiet_NaN());
    ck::loss_value_and_gradient(kind, from_logits, pred.data(), target.data(), rows, cols,
                                grad ? grad->data() : nullptr, wrt_pre, scale, totals);
    return {totals[0], totals[1], totals[2]};
}

std::vector<float> flat(const nlohmann::json& rows) {
    std::vector<float> v;
    for (const auto& row : rows) {
        if (row.is_array())
            for (const auto& e : row) v.push_back(e.get<float>());
        else
            v.push_back(row.get<float>());
    }
    return v;
}

tn::LossKind kind_of(const std::string& name) {
    if (name == "binary_crossentropy" || name == "binary_accuracy") return tn::LossKind::binary_crossentropy;
    if (name == "categorical_crossentropy") return tn::LossKind::categorical_crossentropy;
    return tn::LossKind::sparse_categorical_crossentropy;
}

// Every case of a fixture file: each sample alone (per-sample value) and the batch mean.
void check_fixture(const std::string& file, bool accuracy) {
    const auto fixture = train_test::keras_fixture(file);
    const tn::LossKind kind = kind_of(fixture["loss"]);
    for (const auto& c : fixture["cases"]) {
        const std::string name = c["name"];
        BOOST_TEST_CONTEXT(file << " case " << name) {
            const bool from_logits = name == "from_logits";
            const std::vector<float> pred = flat(c["y_pred"]), target = flat(c["y_true"]);
            const std::size_t rows = c["y_pred"].size(), cols = pred.size() / rows;
            const std::size_t label_cols = target.size() / rows;
            const auto& expected = c["keras22"]["per_sample"];
            double sum = 0.0;
            for (std::size_t r = 0; r < rows; ++r) {
                const std::vector<float> p(pred.begin() + r * cols, pred.begin() + (r + 1) * cols);
                const std::vector<float> t(target.begin() + r * label_cols, target.begin() + (r + 1) * label_cols);
                const Totals one = run(kind, from_logits, p, t, 1, cols);
                const double value = accuracy ? one.accuracy : one.loss;
                const double want = expected[r].get<double>();
                BOOST_TEST_CONTEXT("sample " << r) {
                    BOOST_TEST(std::abs(value - want) <= 1e-6 + 1e-5 * std::abs(want));
                    BOOST_TEST(one.invalid == 0.0);
                }
                sum += value;
            }
            const Totals all = run(kind, from_logits, pred, target, rows, cols);
            const double mean = (accuracy ? all.accuracy : all.loss) / static_cast<double>(rows);
            const double want_mean = c["keras22"]["mean"].get<double>();
            BOOST_TEST(std::abs(mean - want_mean) <= 1e-6 + 1e-5 * std::abs(want_mean));
        }
    }
}

float sigmoid(float z) { return ck::sigmoid(z); }

std::vector<float> softmax_rows(const std::vector<float>& z, std::size_t rows, std::size_t cols) {
    std::vector<float> p = z;
    ck::bias_activation(p.data(), nullptr, rows, cols, tn::ActivationKind::softmax);
    return p;
}

// Central differences of the batch loss (mean over rows) with respect to `inputs`,
// where `loss_of` maps the inputs to the loss. The kernel computes in float, so the
// step is large enough to keep rounding noise well under the tolerance.
std::vector<double> numeric_gradient(std::vector<float> inputs, const std::function<double(const std::vector<float>&)>& loss_of,
                                     float step = 1e-3f) {
    std::vector<double> grad(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const float keep = inputs[i];
        inputs[i] = keep + step;
        const double up = loss_of(inputs);
        inputs[i] = keep - step;
        const double down = loss_of(inputs);
        inputs[i] = keep;
        grad[i] = (up - down) / (2.0 * static_cast<double>(step));
    }
    return grad;
}

void check_close(const std::vector<float>& analytic, const std::vector<double>& numeric, double abs_tol = 2e-3,
                 double rel_tol = 2e-2) {
    BOOST_REQUIRE_EQUAL(analytic.size(), numeric.size());
    for (std::size_t i = 0; i < analytic.size(); ++i)
        BOOST_TEST_CONTEXT("element " << i << ": analytic " << analytic[i] << ", numeric " << numeric[i]) {
            BOOST_TEST(std::abs(analytic[i] - numeric[i]) <=
                       abs_tol + rel_tol * std::max(std::abs(double(analytic[i])), std::abs(numeric[i])));
        }
}

std::vector<float> uniform(std::size_t n, tn::Random& rng, float low, float high) {
    std::vector<float> v(n);
    for (float& e : v) e = rng.uniform(low, high);
    return v;
}

constexpr std::size_t rows = 4, cols = 3;

}  // namespace

BOOST_AUTO_TEST_SUITE(losses)

BOOST_AUTO_TEST_CASE(values_match_keras_2_2) {
    check_fixture("loss_binary_crossentropy.json", false);
    check_fixture("loss_categorical_crossentropy.json", false);
    check_fixture("loss_sparse_categorical_crossentropy.json", false);
}

BOOST_AUTO_TEST_CASE(binary_accuracy_matches_keras_2_2_rounding) {
    // 0.5 exactly is class 0 (tf.round rounds half to even), 0.50000006 is class 1.
    check_fixture("loss_binary_accuracy.json", true);
}

BOOST_AUTO_TEST_CASE(categorical_accuracy_is_argmax_against_argmax) {
    const std::vector<float> pred{0.2f, 0.5f, 0.3f, 0.6f, 0.1f, 0.3f, 0.4f, 0.4f, 0.2f};
    const std::vector<float> onehot{0, 1, 0, 0, 0, 1, 1, 0, 0};
    // Rows: hit, miss, tie resolved to the first largest (class 0): hit.
    BOOST_TEST(run(tn::LossKind::categorical_crossentropy, false, pred, onehot, 3, 3).accuracy == 2.0);
    const std::vector<float> labels{1, 2, 0};
    BOOST_TEST(run(tn::LossKind::sparse_categorical_crossentropy, false, pred, labels, 3, 3).accuracy == 2.0);
}

BOOST_AUTO_TEST_CASE(sparse_labels_that_are_not_class_indices_are_counted) {
    const std::vector<float> pred(5 * 3, 1.0f / 3.0f);
    const std::vector<float> labels{0.0f, 3.0f, -1.0f, 1.5f, std::numeric_limits<float>::quiet_NaN()};
    std::vector<float> grad;
    const Totals t = run(tn::LossKind::sparse_categorical_crossentropy, false, pred, labels, 5, 3, &grad, true, 0.2f);
    BOOST_TEST(t.invalid == 4.0);
    BOOST_TEST(std::abs(t.loss - std::log(3.0)) < 1e-6);  // only the valid row counts
    for (std::size_t i = 3; i < grad.size(); ++i) BOOST_TEST(grad[i] == 0.0f);  // bad rows push nothing
}

// ---- Gradients against finite differences ------------------------------------------
BOOST_AUTO_TEST_CASE(binary_crossentropy_gradients) {
    tn::Random rng(11);
    const std::vector<float> target{1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0};
    const float scale = 1.0f / rows;
    auto loss_on_probabilities = [&](const std::vector<float>& p) {
        return run(tn::LossKind::binary_crossentropy, false, p, target, rows, cols).loss / rows;
    };
    // d loss / d p (unfused, through Keras's clip and logit), away from the clip.
    const std::vector<float> p = uniform(rows * cols, rng, 0.05f, 0.95f);
    std::vector<float> grad;
    run(tn::LossKind::binary_crossentropy, false, p, target, rows, cols, &grad, false, scale);
    check_close(grad, numeric_gradient(p, loss_on_probabilities, 1e-4f));

    // d loss / d z through the sigmoid (fused).
    const std::vector<float> z = uniform(rows * cols, rng, -3.0f, 3.0f);
    auto loss_on_logits_via_sigmoid = [&](const std::vector<float>& zz) {
        std::vector<float> pp(zz.size());
        for (std::size_t i = 0; i < zz.size(); ++i) pp[i] = sigmoid(zz[i]);
        return loss_on_probabilities(pp);
    };
    std::vector<float> pz(z.size());
    for (std::size_t i = 0; i < z.size(); ++i) pz[i] = sigmoid(z[i]);
    run(tn::LossKind::binary_crossentropy, false, pz, target, rows, cols, &grad, true, scale);
    check_close(grad, numeric_gradient(z, loss_on_logits_via_sigmoid));

    // from_logits: d loss / d z directly, also far out where probabilities would saturate.
    std::vector<float> wide = uniform(rows * cols, rng, -20.0f, 20.0f);
    auto loss_on_logits = [&](const std::vector<float>& zz) {
        return run(tn::LossKind::binary_crossentropy, true, zz, target, rows, cols).loss / rows;
    };
    run(tn::LossKind::binary_crossentropy, true, wide, target, rows, cols, &grad, false, scale);
    check_close(grad, numeric_gradient(wide, loss_on_logits));
}

BOOST_AUTO_TEST_CASE(categorical_crossentropy_gradients) {
    tn::Random rng(12);
    const std::vector<float> target{1, 0, 0, 0, 1, 0, 0, 0, 1, 0.2f, 0.3f, 0.5f};  // the last row is soft
    const float scale = 1.0f / rows;
    auto loss_on_probabilities = [&](const std::vector<float>& p) {
        return run(tn::LossKind::categorical_crossentropy, false, p, target, rows, cols).loss / rows;
    };
    // Unnormalised positive outputs exercise Keras's p / sum(p) step too.
    const std::vector<float> p = uniform(rows * cols, rng, 0.1f, 0.9f);
    std::vector<float> grad;
    run(tn::LossKind::categorical_crossentropy, false, p, target, rows, cols, &grad, false, scale);
    check_close(grad, numeric_gradient(p, loss_on_probabilities, 1e-4f));

    const std::vector<float> z = uniform(rows * cols, rng, -3.0f, 3.0f);
    auto loss_via_softmax = [&](const std::vector<float>& zz) { return loss_on_probabilities(softmax_rows(zz, rows, cols)); };
    run(tn::LossKind::categorical_crossentropy, false, softmax_rows(z, rows, cols), target, rows, cols, &grad, true,
        scale);
    check_close(grad, numeric_gradient(z, loss_via_softmax));

    auto loss_on_logits = [&](const std::vector<float>& zz) {
        return run(tn::LossKind::categorical_crossentropy, true, zz, target, rows, cols).loss / rows;
    };
    run(tn::LossKind::categorical_crossentropy, true, z, target, rows, cols, &grad, false, scale);
    check_close(grad, numeric_gradient(z, loss_on_logits));
}

BOOST_AUTO_TEST_CASE(sparse_categorical_crossentropy_gradients) {
    tn::Random rng(13);
    const std::vector<float> labels{2, 0, 1, 1};
    const float scale = 1.0f / rows;
    auto loss_on_probabilities = [&](const std::vector<float>& p) {
        return run(tn::LossKind::sparse_categorical_crossentropy, false, p, labels, rows, cols).loss / rows;
    };
    const std::vector<float> p = uniform(rows * cols, rng, 0.1f, 0.9f);
    std::vector<float> grad;
    run(tn::LossKind::sparse_categorical_crossentropy, false, p, labels, rows, cols, &grad, false, scale);
    check_close(grad, numeric_gradient(p, loss_on_probabilities, 1e-4f));

    const std::vector<float> z = uniform(rows * cols, rng, -3.0f, 3.0f);
    auto loss_via_softmax = [&](const std::vector<float>& zz) { return loss_on_probabilities(softmax_rows(zz, rows, cols)); };
    run(tn::LossKind::sparse_categorical_crossentropy, false, softmax_rows(z, rows, cols), labels, rows, cols, &grad,
        true, scale);
    check_close(grad, numeric_gradient(z, loss_via_softmax));

    auto loss_on_logits = [&](const std::vector<float>& zz) {
        return run(tn::LossKind::sparse_categorical_crossentropy, true, zz, labels, rows, cols).loss / rows;
    };
    run(tn::LossKind::sparse_categorical_crossentropy, true, z, labels, rows, cols, &grad, false, scale);
    check_close(grad, numeric_gradient(z, loss_on_logits));
}

// The fused gradient (p - y) equals the unfused d loss / d p pushed back through the
// activation's own backward kernel, wherever the clip is not active.
BOOST_AUTO_TEST_CASE(fused_and_unfused_gradients_agree) {
    tn::Random rng(14);
    struct Case {
        tn::LossKind kind;
        tn::ActivationKind activation;
        std::vector<float> target;
    };
    const std::vector<Case> cases{
        {tn::LossKind::binary_crossentropy, tn::ActivationKind::sigmoid, {1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0}},
        {tn::LossKind::categorical_crossentropy, tn::ActivationKind::softmax, {1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0}},
        {tn::LossKind::sparse_categorical_crossentropy, tn::ActivationKind::softmax, {2, 0, 1, 1}},
    };
    for (const Case& c : cases) {
        const std::vector<float> z = uniform(rows * cols, rng, -4.0f, 4.0f);
        std::vector<float> p = z;
        ck::bias_activation(p.data(), nullptr, rows, cols, c.activation);
        std::vector<float> fused, unfused, through(rows * cols);
        run(c.kind, false, p, c.target, rows, cols, &fused, true, 0.25f);
        run(c.kind, false, p, c.target, rows, cols, &unfused, false, 0.25f);
        ck::activation_backward(p.data(), unfused.data(), through.data(), rows, cols, c.activation);
        for (std::size_t i = 0; i < fused.size(); ++i)
            BOOST_TEST(std::abs(fused[i] - through[i]) <= 1e-5f + 1e-4f * std::abs(fused[i]));
    }
}

BOOST_AUTO_TEST_CASE(loss_and_last_activation_must_fit_together) {
    // Fused when the activation is the loss's own; unfused otherwise.
    BOOST_TEST(tn::wire_loss(tn::BinaryCrossentropy{}, tn::ActivationKind::sigmoid).wrt_preactivation);
    BOOST_TEST(tn::wire_loss(tn::SparseCategoricalCrossentropy{}, tn::ActivationKind::softmax).wrt_preactivation);
    BOOST_TEST(!tn::wire_loss(tn::BinaryCrossentropy{}, tn::ActivationKind::softmax).wrt_preactivation);
    BOOST_TEST(tn::wire_loss(tn::CategoricalCrossentropy{.from_logits = true}, tn::ActivationKind::linear).from_logits);
    auto message_of = [](auto&& f) {
        try {
            f();
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("no exception");
    };
    const std::string logits = message_of([] { tn::wire_loss(tn::BinaryCrossentropy{.from_logits = true}, tn::ActivationKind::sigmoid); });
    BOOST_TEST(logits.find("from_logits") != std::string::npos);
    BOOST_TEST(logits.find("sigmoid") != std::string::npos);
    const std::string linear = message_of([] { tn::wire_loss(tn::SparseCategoricalCrossentropy{}, tn::ActivationKind::linear); });
    BOOST_TEST(linear.find("tn::Softmax") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
