// Classification metrics: small cases worked out by hand, then scikit-learn's own numbers
// (tests/fixtures/metrics/sklearn_metrics.json, made by make_metrics_fixture.py).
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "typenet/metrics/accuracy.hpp"
#include "typenet/metrics/classification_report.hpp"
#include "typenet/metrics/confusion_matrix.hpp"
#include "typenet/metrics/performance.hpp"
#include "typenet/metrics/precision_recall.hpp"
#include "typenet/metrics/predict_classes.hpp"

namespace tn = typenet;
namespace tt = boost::test_tools;

namespace {

nlohmann::json load_fixture() {
    const std::string path = std::string(TYPENET_FIXTURES_DIR) + "/metrics/sklearn_metrics.json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open fixture " + path);
    return nlohmann::json::parse(in);
}

const nlohmann::json& fixture() {
    static const nlohmann::json json = load_fixture();
    return json;
}

// Labels of the worked examples below.
const std::vector<int> small_true{0, 0, 0, 1, 1, 1, 1, 0};
const std::vector<int> small_pred{0, 1, 0, 1, 1, 0, 1, 0};
// Class 2 is never predicted.
const std::vector<int> three_true{0, 1, 2, 2, 1, 0, 2, 1, 0, 0};
const std::vector<int> three_pred{0, 1, 1, 0, 1, 0, 0, 1, 1, 0};

}  // namespace

BOOST_AUTO_TEST_SUITE(classification_by_hand)

BOOST_AUTO_TEST_CASE(accuracy_counts_matching_labels) {
    BOOST_TEST(tn::accuracy_score(small_true, small_pred) == 6.0 / 8.0, tt::tolerance(1e-15));
    BOOST_TEST(tn::accuracy_score(three_true, three_pred) == 6.0 / 10.0, tt::tolerance(1e-15));
}

BOOST_AUTO_TEST_CASE(class_never_predicted_has_zero_precision) {
    // class 0: 4 actual, 5 predicted, 3 right; class 1: 3 actual, 5 predicted, 3 right;
    // class 2: 3 actual, never predicted.
    const auto scores = tn::precision_recall_fscore_support(three_true, three_pred);
    BOOST_TEST_REQUIRE(scores.size() == 3u);
    BOOST_TEST(scores[0].precision == 3.0 / 5.0, tt::tolerance(1e-15));
    BOOST_TEST(scores[0].recall == 3.0 / 4.0, tt::tolerance(1e-15));
    BOOST_TEST(scores[0].f1_score == 6.0 / 9.0, tt::tolerance(1e-15));
    BOOST_TEST(scores[1].precision == 3.0 / 5.0, tt::tolerance(1e-15));
    BOOST_TEST(scores[1].recall == 1.0, tt::tolerance(1e-15));
    BOOST_TEST(scores[1].f1_score == 6.0 / 8.0, tt::tolerance(1e-15));
    BOOST_TEST(scores[2].precision == 0.0);
    BOOST_TEST(scores[2].recall == 0.0);
    BOOST_TEST(scores[2].f1_score == 0.0);
    BOOST_TEST(scores[0].support == 4u);
    BOOST_TEST(scores[1].support == 3u);
    BOOST_TEST(scores[2].support == 3u);

    // Weighted by support (4, 3, 3) over 10 samples; macro is the plain mean.
    BOOST_TEST(tn::precision_score(three_true, three_pred, tn::Average::weighted) == (4 * 0.6 + 3 * 0.6) / 10,
               tt::tolerance(1e-14));
    BOOST_TEST(tn::recall_score(three_true, three_pred, tn::Average::weighted) == 0.6, tt::tolerance(1e-14));
    BOOST_TEST(tn::precision_score(three_true, three_pred, tn::Average::macro) == (0.6 + 0.6) / 3,
               tt::tolerance(1e-14));
    BOOST_TEST(tn::f1_score(three_true, three_pred, tn::Average::macro) == (6.0 / 9 + 0.75) / 3, tt::tolerance(1e-14));
    // Micro pools the counts: 6 right of 10 predicted and 10 actual.
    BOOST_TEST(tn::f1_score(three_true, three_pred, tn::Average::micro) == 0.6, tt::tolerance(1e-14));
}

BOOST_AUTO_TEST_CASE(binary_average_is_class_one) {
    // class 1: 4 actual, 4 predicted, 3 right.
    BOOST_TEST(tn::precision_score(small_true, small_pred, tn::Average::binary) == 0.75, tt::tolerance(1e-15));
    BOOST_TEST(tn::recall_score(small_true, small_pred, tn::Average::binary) == 0.75, tt::tolerance(1e-15));
    const std::vector<int> skewed_pred{1, 1, 1, 1, 1, 1, 1, 1};
    BOOST_TEST(tn::precision_score(small_true, skewed_pred, tn::Average::binary) == 0.5, tt::tolerance(1e-15));
    BOOST_TEST(tn::recall_score(small_true, skewed_pred, tn::Average::binary) == 1.0, tt::tolerance(1e-15));
    BOOST_CHECK_THROW(tn::precision_score(three_true, three_pred, tn::Average::binary), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(confusion_matrix_rows_are_actual_columns_predicted) {
    const auto matrix = tn::confusion_matrix(three_true, three_pred);
    BOOST_TEST_REQUIRE(matrix.size() == 3u);
    // actual 0: predicted 0,0,1,0; actual 1: 1,1,1; actual 2: 1,0,0.
    const std::vector<std::size_t> expected{3, 1, 0, 0, 3, 0, 2, 1, 0};
    BOOST_TEST(matrix.counts == expected, tt::per_element());
    BOOST_TEST(matrix.at(2, 0) == 2u);
    BOOST_CHECK_THROW(matrix.at(3, 0), std::out_of_range);

    // The chapter's order {1, 0}: the positive class first.
    const auto reordered = tn::confusion_matrix(small_true, small_pred, {1, 0}, {"dog", "cat"});
    BOOST_TEST(reordered.at(0, 0) == 3u);  // dog predicted dog
    BOOST_TEST(reordered.at(0, 1) == 1u);  // dog predicted cat
    BOOST_TEST(reordered.at(1, 0) == 1u);  // cat predicted dog
    BOOST_TEST(reordered.at(1, 1) == 3u);
}

BOOST_AUTO_TEST_CASE(confusion_matrix_text_has_labelled_rows_and_columns) {
    const std::vector<int> y_true{0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    const std::vector<int> y_pred{0, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    const auto text = tn::confusion_matrix(y_true, y_pred, {0, 1}, {"cat", "dog"}).to_string();
    const std::string expected =
        "             Predicted:\n"
        "             cat  dog\n"
        "Actual: cat    2    1\n"
        "        dog    1   10\n";
    BOOST_TEST(text == expected);
}

BOOST_AUTO_TEST_CASE(metrics_block_rounds_to_four_places) {
    // 2 of 3 right: accuracy 0.66666... prints and stores 0.6667.
    const std::vector<int> y_true{0, 1, 1};
    const std::vector<int> y_pred{0, 1, 0};
    const auto block = tn::get_metrics(y_true, y_pred);
    BOOST_TEST(block.accuracy == 0.6667);
    // class 0: p 1/2 r 1 (support 1); class 1: p 1 r 1/2 (support 2) -> weighted p = (0.5 + 2) / 3.
    BOOST_TEST(block.precision == 0.8333);
    BOOST_TEST(block.recall == 0.6667);
    BOOST_TEST(block.to_string() == "Accuracy: 0.6667\nPrecision: 0.8333\nRecall: 0.6667\nF1 Score: 0.6667\n");
}

BOOST_AUTO_TEST_CASE(performance_report_has_the_chapter_sections) {
    const auto text = tn::model_performance_report(small_true, small_pred, {1, 0}, {"dog", "cat"});
    for (const char* part : {"Model Performance metrics:", "Accuracy: 0.7500", "Model Classification report:",
                             "weighted avg", "Prediction Confusion Matrix:", "Actual: dog"})
        BOOST_TEST(text.find(part) != std::string::npos, "missing: " << part);
    BOOST_TEST(text.find("Model Classification report:") < text.find("Prediction Confusion Matrix:"));
}

BOOST_AUTO_TEST_CASE(predict_classes_thresholds_strictly_above_half) {
    const std::vector<float> sigmoid{0.2f, 0.5f, 0.5000001f, 0.99f, 0.0f};
    const std::vector<int> expected{0, 0, 1, 1, 0};
    BOOST_TEST(tn::predict_classes(sigmoid) == expected, tt::per_element());
    BOOST_TEST(tn::classes_above(sigmoid, 0.1f) == (std::vector<int>{1, 1, 1, 1, 0}), tt::per_element());
    // Several outputs per sample: argmax, first maximum on ties.
    const std::vector<float> softmax{0.1f, 0.7f, 0.2f, 0.4f, 0.4f, 0.2f};
    BOOST_TEST(tn::predict_classes(softmax, 3) == (std::vector<int>{1, 0}), tt::per_element());
    BOOST_CHECK_THROW(tn::predict_classes(softmax, 4), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(bad_input_is_reported) {
    const std::vector<int> shorter{0, 1};
    try {
        tn::classification_report(small_true, shorter);
        BOOST_FAIL("mismatched lengths were accepted");
    } catch (const std::invalid_argument& error) {
        BOOST_TEST(std::string(error.what()) == "classification_report: y_true has 8 labels but y_pred has 2");
    }
    BOOST_CHECK_THROW(tn::accuracy_score({}, {}), std::invalid_argument);
    BOOST_CHECK_THROW(tn::classification_report(small_true, small_pred, {0, 1}, {"cat"}), std::invalid_argument);
    BOOST_CHECK_THROW(tn::confusion_matrix(small_true, small_pred, {0, 0}), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(classification_against_sklearn)

BOOST_AUTO_TEST_CASE(every_fixture_case_matches) {
    const auto& cases = fixture().at("classification");
    BOOST_TEST_REQUIRE(cases.size() >= 6u);
    for (const auto& c : cases) {
        const std::string name = c.at("name");
        BOOST_TEST_CONTEXT("case " << name) {
            const auto y_true = c.at("y_true").get<std::vector<int>>();
            const auto y_pred = c.at("y_pred").get<std::vector<int>>();
            const auto labels = c.at("labels").is_null() ? std::vector<int>{} : c.at("labels").get<std::vector<int>>();
            const auto names = c.at("target_names").is_null() ? std::vector<std::string>{}
                                                              : c.at("target_names").get<std::vector<std::string>>();
            const auto order = c.at("order").get<std::vector<int>>();

            BOOST_TEST(tn::accuracy_score(y_true, y_pred) == c.at("accuracy").get<double>(), tt::tolerance(1e-12));

            const auto report = tn::classification_report(y_true, y_pred, labels, names);
            const auto& per_class = c.at("per_class");
            BOOST_TEST_REQUIRE(report.classes.size() == order.size());
            for (std::size_t k = 0; k < order.size(); ++k) {
                BOOST_TEST(report.classes[k].label == order[k]);
                BOOST_TEST(report.classes[k].precision == per_class.at("precision")[k].get<double>(),
                           tt::tolerance(1e-12));
                BOOST_TEST(report.classes[k].recall == per_class.at("recall")[k].get<double>(), tt::tolerance(1e-12));
                BOOST_TEST(report.classes[k].f1_score == per_class.at("f1_score")[k].get<double>(),
                           tt::tolerance(1e-12));
                BOOST_TEST(report.classes[k].support == per_class.at("support")[k].get<std::size_t>());
            }
            const auto compare_average = [&](const tn::AverageScores& ours, const nlohmann::json& theirs) {
                BOOST_TEST(ours.precision == theirs.at("precision").get<double>(), tt::tolerance(1e-12));
                BOOST_TEST(ours.recall == theirs.at("recall").get<double>(), tt::tolerance(1e-12));
                BOOST_TEST(ours.f1_score == theirs.at("f1_score").get<double>(), tt::tolerance(1e-12));
            };
            compare_average(report.macro_avg, c.at("averages").at("macro"));
            compare_average(report.weighted_avg, c.at("averages").at("weighted"));
            compare_average(report.micro_avg, c.at("averages").at("micro"));
            compare_average(tn::average_scores(y_true, y_pred, tn::Average::weighted, labels),
                            c.at("averages").at("weighted"));

            if (c.contains("report_2")) {
                BOOST_TEST(report.to_string() == c.at("report_2").get<std::string>());
                BOOST_TEST(report.to_string(4) == c.at("report_4").get<std::string>());
            }

            const auto block = tn::get_metrics(y_true, y_pred);
            const auto& expected_block = c.at("get_metrics");
            BOOST_TEST(block.accuracy == expected_block.at("accuracy").get<double>());
            BOOST_TEST(block.precision == expected_block.at("precision").get<double>());
            BOOST_TEST(block.recall == expected_block.at("recall").get<double>());
            BOOST_TEST(block.f1_score == expected_block.at("f1_score").get<double>());

            const auto matrix = tn::confusion_matrix(y_true, y_pred, order);
            const auto expected_rows = c.at("confusion_matrix").get<std::vector<std::vector<std::size_t>>>();
            BOOST_TEST_REQUIRE(matrix.size() == expected_rows.size());
            for (std::size_t row = 0; row < matrix.size(); ++row)
                for (std::size_t column = 0; column < matrix.size(); ++column)
                    BOOST_TEST(matrix.at(row, column) == expected_rows[row][column]);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
