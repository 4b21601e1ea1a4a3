// ROC curves and AUC: a worked example with ties, then scikit-learn's own curves.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "typenet/metrics/predict_classes.hpp"
#include "typenet/metrics/roc.hpp"

namespace tn = typenet;
namespace tt = boost::test_tools;

BOOST_AUTO_TEST_SUITE(roc)

BOOST_AUTO_TEST_CASE(tied_scores_are_one_step) {
    // Sorted by score: 0.8(+) 0.5(-,+) 0.4(-,+) 0.1(-); 3 positives, 3 negatives.
    const std::vector<int> y_true{0, 0, 1, 1, 0, 1};
    const std::vector<float> scores{0.1f, 0.4f, 0.4f, 0.8f, 0.5f, 0.5f};
    const auto curve = tn::roc_curve(y_true, scores);
    const std::vector<double> fpr{0, 0, 1.0 / 3, 2.0 / 3, 1};
    const std::vector<double> tpr{0, 1.0 / 3, 2.0 / 3, 1, 1};
    BOOST_TEST(curve.fpr == fpr, tt::tolerance(1e-15) << tt::per_element());
    BOOST_TEST(curve.tpr == tpr, tt::tolerance(1e-15) << tt::per_element());
    BOOST_TEST(std::isinf(curve.thresholds[0]));
    BOOST_TEST(curve.thresholds[2] == 0.5);
    // Trapezoids: 1/6 + 5/18 + 1/3.
    BOOST_TEST(tn::auc(curve) == 14.0 / 18.0, tt::tolerance(1e-15));
    BOOST_TEST(tn::roc_auc_score(y_true, scores) == 14.0 / 18.0, tt::tolerance(1e-15));
}

BOOST_AUTO_TEST_CASE(curve_runs_from_origin_to_one_one) {
    const std::vector<int> y_true{1, 0, 1, 1, 0, 0, 1};
    const std::vector<float> scores{0.9f, 0.8f, 0.7f, 0.3f, 0.3f, 0.1f, 0.05f};
    const auto curve = tn::roc_curve(y_true, scores);
    BOOST_TEST(curve.fpr.front() == 0.0);
    BOOST_TEST(curve.tpr.front() == 0.0);
    BOOST_TEST(curve.fpr.back() == 1.0);
    BOOST_TEST(curve.tpr.back() == 1.0);
    for (std::size_t i = 1; i < curve.fpr.size(); ++i) {
        BOOST_TEST(curve.fpr[i] >= curve.fpr[i - 1]);
        BOOST_TEST(curve.tpr[i] >= curve.tpr[i - 1]);
        BOOST_TEST(curve.thresholds[i] < curve.thresholds[i - 1]);
    }
    // pos_label picks the positive class: the curve of class 0 with the same scores
    // mirrors it, so its area is 1 - AUC.
    BOOST_TEST(tn::roc_auc_score(y_true, scores, 0) == 1 - tn::roc_auc_score(y_true, scores), tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(auc_rules) {
    const std::vector<double> down{1, 0.5, 0};
    const std::vector<double> ones{1, 1, 1};
    BOOST_TEST(tn::auc(down, ones) == 1.0);  // decreasing x still gives a positive area
    const std::vector<double> zigzag{0, 1, 0.5};
    BOOST_CHECK_THROW(tn::auc(zigzag, ones), std::invalid_argument);
    const std::vector<int> all_positive{1, 1};
    const std::vector<float> two_scores{0.2f, 0.4f};
    BOOST_CHECK_THROW(tn::roc_curve(all_positive, two_scores), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(matches_sklearn) {
    const std::string path = std::string(TYPENET_FIXTURES_DIR) + "/metrics/sklearn_metrics.json";
    std::ifstream in(path);
    BOOST_TEST_REQUIRE(in.good(), "cannot open " << path);
    const auto fixture = nlohmann::json::parse(in);
    BOOST_TEST_REQUIRE(fixture.at("roc").size() >= 4u);
    for (const auto& c : fixture.at("roc")) {
        BOOST_TEST_CONTEXT("case " << c.at("name").get<std::string>()) {
            const auto y_true = c.at("y_true").get<std::vector<int>>();
            std::vector<float> scores;
            for (double s : c.at("scores")) scores.push_back(static_cast<float>(s));  // exact: written from float32
            const auto curve = tn::roc_curve(y_true, scores);
            BOOST_TEST(curve.fpr == c.at("fpr").get<std::vector<double>>(), tt::tolerance(1e-12) << tt::per_element());
            BOOST_TEST(curve.tpr == c.at("tpr").get<std::vector<double>>(), tt::tolerance(1e-12) << tt::per_element());
            const auto thresholds = c.at("thresholds_after_inf").get<std::vector<double>>();
            BOOST_TEST_REQUIRE(curve.thresholds.size() == thresholds.size() + 1);
            BOOST_TEST(std::isinf(curve.thresholds[0]));
            for (std::size_t i = 0; i < thresholds.size(); ++i) BOOST_TEST(curve.thresholds[i + 1] == thresholds[i]);
            BOOST_TEST(tn::roc_auc_score(y_true, scores) == c.at("auc").get<double>(), tt::tolerance(1e-12));
            BOOST_TEST(tn::predict_classes(scores) == c.at("predict_classes").get<std::vector<int>>(),
                       tt::per_element());
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
