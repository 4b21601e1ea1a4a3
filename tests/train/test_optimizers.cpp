// Optimizers: each update rule against steps worked out by hand (the arithmetic is
// written next to the numbers), Keras 2's decay, and whole training steps against the
// weights tf.keras's legacy (Keras 2.2-formula) optimizers produced
// (tests/fixtures/keras/optimizer_steps.json).
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "support.hpp"
#include "typenet/train/trainer.hpp"
#include "typenet/typenet.hpp"

namespace tn = typenet;

namespace {

// One parameter w = (0.5, -1.0) with the gradient g = (0.2, -0.05) at every step.
struct OneParameter {
    tn::Parameter<tn::cpu> p{"kernel", {2}};
    std::array<tn::Buffer<tn::cpu>, 2> slots;

    explicit OneParameter(std::size_t slot_count) {
        p.set_values({0.5f, -1.0f});
        const std::vector<float> g{0.2f, -0.05f};
        p.grad.upload(g.data(), g.size());
        for (std::size_t k = 0; k < slot_count; ++k) slots[k].ensure_zeroed(2);
    }
    template <class O>
    void step(const O& optimizer, std::uint64_t iteration) {
        optimizer.apply(iteration, p, std::span<tn::Buffer<tn::cpu>>(slots.data(), optimizer.slot_count()));
    }
    float w(std::size_t i) const { return p.values()[i]; }
    float slot(std::size_t k, std::size_t i) const { return slots[k].data()[i]; }
};

bool near(double got, double want, double tol = 2e-7) { return std::abs(got - want) <= tol + 2e-6 * std::abs(want); }

}  // namespace

BOOST_AUTO_TEST_SUITE(optimizers)

BOOST_AUTO_TEST_CASE(keras_2_defaults) {
    BOOST_TEST(tn::RMSprop{}.learning_rate == 1e-3f);
    BOOST_TEST(tn::RMSprop{}.rho == 0.9f);
    BOOST_TEST(tn::RMSprop{}.epsilon == 1e-7f);
    BOOST_TEST(tn::Adam{}.learning_rate == 1e-3f);
    BOOST_TEST(tn::Adam{}.beta_1 == 0.9f);
    BOOST_TEST(tn::Adam{}.beta_2 == 0.999f);
    BOOST_TEST(tn::Adam{}.epsilon == 1e-7f);
    BOOST_TEST(tn::SGD{}.learning_rate == 0.01f);
    BOOST_TEST(tn::SGD{}.momentum == 0.0f);
    BOOST_TEST(!tn::SGD{}.nesterov);
}

BOOST_AUTO_TEST_CASE(rmsprop_by_hand) {
    OneParameter one(1);
    const tn::RMSprop rmsprop{.learning_rate = 0.01f};
    one.step(rmsprop, 0);
    // a = 0.9 * 0 + 0.1 * 0.2^2 = 0.004
    // w = 0.5 - 0.01 * 0.2 / (sqrt(0.004) + 1e-7) = 0.5 - 0.002 / 0.0632456553 = 0.4683772734
    BOOST_TEST(near(one.slot(0, 0), 0.004));
    BOOST_TEST(near(one.w(0), 0.46837727339823715));
    // a = 0.1 * 0.05^2 = 0.00025; w = -1 + 0.0005 / (0.0158113883 + 1e-7) = -0.9683774234
    BOOST_TEST(near(one.slot(0, 1), 0.00025));
    BOOST_TEST(near(one.w(1), -0.9683774233970514));
    one.step(rmsprop, 1);
    // a = 0.9 * 0.004 + 0.004 = 0.0076; w = 0.4683772734 - 0.002 / (0.0871779789 + 1e-7) = 0.4454357263
    BOOST_TEST(near(one.slot(0, 0), 0.0076));
    BOOST_TEST(near(one.w(0), 0.4454357263269403));
    // a = 0.9 * 0.00025 + 0.00025 = 0.000475; w = -0.9683774234 + 0.0005 / 0.0217945947 = -0.9454359553
    BOOST_TEST(near(one.w(1), -0.9454359552726701));
}

BOOST_AUTO_TEST_CASE(adam_by_hand) {
    OneParameter one(2);
    const tn::Adam adam{.learning_rate = 0.01f};
    // t = 1: lr_t = 0.01 * sqrt(1 - 0.999) / (1 - 0.9) = 0.01 * 0.0316227766 / 0.1 = 0.0031622777
    BOOST_TEST(near(adam.corrected_rate(0), 0.003162277660168381));
    one.step(adam, 0);
    // m = 0.1 * 0.2 = 0.02; v = 0.001 * 0.04 = 0.00004
    // w = 0.5 - 0.0031622777 * 0.02 / (sqrt(0.00004) + 1e-7) = 0.5 - 0.0031622777 * 0.02 / 0.0063246553
    //   = 0.5 - 0.0099998419 = 0.4900001581
    BOOST_TEST(near(one.slot(0, 0), 0.02));
    BOOST_TEST(near(one.slot(1, 0), 0.00004, 1e-9));  // float: (1 - 0.999f) * 0.04 = 3.99995e-5
    BOOST_TEST(near(one.w(0), 0.49000015811138303));
    BOOST_TEST(near(one.w(1), -0.9900006324155346));
    // t = 2: lr_t = 0.01 * sqrt(1 - 0.999^2) / (1 - 0.9^2) = 0.01 * 0.0447101778 / 0.19 = 0.0023531673
    BOOST_TEST(near(adam.corrected_rate(1), 0.0023531672532745274));
    one.step(adam, 1);
    // m = 0.9 * 0.02 + 0.02 = 0.038; v = 0.999 * 0.00004 + 0.00004 = 0.00007996
    // w = 0.4900001581 - 0.0023531673 * 0.038 / (0.0089420356 + 1e-7) = 0.4800002699
    BOOST_TEST(near(one.slot(0, 0), 0.038));
    BOOST_TEST(near(one.w(0), 0.4800002699414927));
    BOOST_TEST(near(one.w(1), -0.9800010797209664));
}

BOOST_AUTO_TEST_CASE(sgd_by_hand) {
    {  // plain: w = 0.5 - 0.1 * 0.2 = 0.48, twice: 0.46
        OneParameter one(0);
        const tn::SGD sgd{.learning_rate = 0.1f};
        BOOST_TEST(sgd.slot_count() == 0u);
        one.step(sgd, 0);
        BOOST_TEST(near(one.w(0), 0.48));
        one.step(sgd, 1);
        BOOST_TEST(near(one.w(0), 0.46));
        BOOST_TEST(near(one.w(1), -0.99));
    }
    {  // momentum 0.9: v = 0.9 * 0 - 0.1 * 0.2 = -0.02, w = 0.48;
       // then v = 0.9 * -0.02 - 0.02 = -0.038, w = 0.48 - 0.038 = 0.442
        OneParameter one(1);
        const tn::SGD sgd{.learning_rate = 0.1f, .momentum = 0.9f};
        one.step(sgd, 0);
        BOOST_TEST(near(one.slot(0, 0), -0.02));
        BOOST_TEST(near(one.w(0), 0.48));
        BOOST_TEST(near(one.w(1), -0.995));
        one.step(sgd, 1);
        BOOST_TEST(near(one.slot(0, 0), -0.038));
        BOOST_TEST(near(one.w(0), 0.442));
        BOOST_TEST(near(one.w(1), -0.9855));
    }
    {  // Nesterov: v = -0.02, w = 0.5 + 0.9 * -0.02 - 0.02 = 0.462;
       // then v = -0.038, w = 0.462 + 0.9 * -0.038 - 0.02 = 0.4078
        OneParameter one(1);
        const tn::SGD sgd{.learning_rate = 0.1f, .momentum = 0.9f, .nesterov = true};
        one.step(sgd, 0);
        BOOST_TEST(near(one.w(0), 0.462));
        BOOST_TEST(near(one.w(1), -0.9905));
        one.step(sgd, 1);
        BOOST_TEST(near(one.w(0), 0.4078));
        BOOST_TEST(near(one.w(1), -0.97695));
    }
}

BOOST_AUTO_TEST_CASE(keras_2_time_based_decay) {
    // lr at step i = 0.1 / (1 + 0.5 i): 0.1, 0.0666667, 0.05, so w = 0.5 - 0.02 = 0.48,
    // 0.48 - 0.0133333 = 0.4666667, 0.4666667 - 0.01 = 0.4566667.
    OneParameter one(0);
    const tn::SGD sgd{.learning_rate = 0.1f, .decay = 0.5f};
    one.step(sgd, 0);
    BOOST_TEST(near(one.w(0), 0.48));
    one.step(sgd, 1);
    BOOST_TEST(near(one.w(0), 0.4666666666666667));
    one.step(sgd, 2);
    BOOST_TEST(near(one.w(0), 0.45666666666666667));
}

BOOST_AUTO_TEST_CASE(bad_hyperparameters_are_refused) {
    BOOST_CHECK_THROW(tn::RMSprop{.rho = 1.0f}.validate(), std::invalid_argument);
    BOOST_CHECK_THROW(tn::Adam{.beta_2 = -0.1f}.validate(), std::invalid_argument);
    BOOST_CHECK_THROW(tn::SGD{.learning_rate = -1.0f}.validate(), std::invalid_argument);
}

// ---- Whole steps against Keras ----------------------------------------------------
namespace {
using SmallNet = tn::Sequential<tn::Input<5>, tn::Dense<3, tn::ReLU, "dense_1">, tn::Dense<1, tn::Sigmoid, "dense_2">>;

std::vector<float> flat(const nlohmann::json& value) {
    std::vector<float> out;
    if (value.is_array()) {
        for (const auto& e : value) {
            const auto inner = flat(e);
            out.insert(out.end(), inner.begin(), inner.end());
        }
    } else {
        out.push_back(value.get<float>());
    }
    return out;
}

template <class O>
void check_against_keras(const std::string& run_name, const O& optimizer) {
    const auto fixture = train_test::keras_fixture("optimizer_steps.json");
    const auto& run = fixture["runs"][run_name];
    SmallNet model;
    model.for_each_parameter([&](std::string_view path, auto& p, bool) {
        p.set_values(flat(fixture["initial_weights"][std::string(path) + "/" + std::string(p.name)]));
    });
    auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, optimizer);
    BOOST_TEST(trainer.fused_loss());
    const std::vector<float> x = flat(fixture["x"]), y = flat(fixture["y"]);
    const auto& losses = run["train_on_batch_losses"];
    for (std::size_t step = 1; step <= 3; ++step) {
        const tn::Evaluation result = trainer.train_on_batch(x.data(), y.data(), 4);
        const double want = losses[step - 1].get<double>();
        BOOST_TEST_CONTEXT(run_name << " step " << step) { BOOST_TEST(std::abs(result.loss - want) <= 2e-6 * want); }
        const std::string key = std::to_string(step);
        if (!run["weights_after_steps"].contains(key)) continue;
        model.for_each_parameter([&](std::string_view path, const auto& p, bool) {
            const std::string name = std::string(path) + "/" + std::string(p.name);
            const std::vector<float> want_w = flat(run["weights_after_steps"][key][name]);
            const std::vector<float> got = p.values();
            BOOST_REQUIRE_EQUAL(got.size(), want_w.size());
            for (std::size_t i = 0; i < got.size(); ++i)
                BOOST_TEST_CONTEXT(run_name << " step " << step << " " << name << "[" << i << "]") {
                    BOOST_TEST(std::abs(got[i] - want_w[i]) <= 1e-6f + 1e-5f * std::abs(want_w[i]));
                }
        });
    }
    BOOST_TEST(trainer.iterations() == 3u);
}
}  // namespace

BOOST_AUTO_TEST_CASE(training_steps_match_keras) {
    check_against_keras("rmsprop", tn::RMSprop{.learning_rate = 1e-3f});
    check_against_keras("adam", tn::Adam{.learning_rate = 1e-3f});
    check_against_keras("sgd_momentum", tn::SGD{.learning_rate = 0.1f, .momentum = 0.9f});
    check_against_keras("sgd_nesterov", tn::SGD{.learning_rate = 0.1f, .momentum = 0.9f, .nesterov = true});
}

BOOST_AUTO_TEST_SUITE_END()
