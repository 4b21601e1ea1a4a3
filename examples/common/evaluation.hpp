// examples/common/evaluation.hpp
// The chapter's evaluation (the report's numbers): every saved model scored on the test images
// (accuracy, weighted precision / recall / F1, classification report, confusion matrix,
// ROC and AUC), side by side in one table, with the pictures, and the prediction of every
// model for one chosen test image.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/experiment.hpp"
#include "common/image_data.hpp"
#include "typenet/train/predict.hpp"
#include "typenet/io/csv.hpp"
#include "typenet/io/weights.hpp"
#include "typenet/metrics/confusion_matrix.hpp"
#include "typenet/metrics/performance.hpp"
#include "typenet/metrics/predict_classes.hpp"
#include "typenet/metrics/roc.hpp"
#include "typenet/model/summary.hpp"
#include "typenet/plot/confusion_matrix.hpp"
#include "typenet/plot/image_grid.hpp"
#include "typenet/plot/roc_curve.hpp"

namespace examples {

// What a history CSV says about a training run.
struct TrainingSummary {
    std::size_t epochs = 0;
    double accuracy = 0, val_accuracy = 0, best_val_accuracy = 0;
};

inline std::optional<TrainingSummary> read_training_summary(const fs::path& csv) {
    if (!fs::is_regular_file(csv)) return std::nullopt;
    try {
        const tn::io::CsvTable table = tn::io::read_csv(csv);
        if (table.rows.empty()) return std::nullopt;
        TrainingSummary s;
        const auto accuracy = table.column("accuracy"), val = table.column("val_accuracy");
        s.epochs = table.rows.size();
        s.accuracy = accuracy.back();
        s.val_accuracy = val.back();
        s.best_val_accuracy = *std::max_element(val.begin(), val.end());
        return s;
    } catch (const std::exception&) {
        return std::nullopt;  // an unreadable history only leaves its columns empty
    }
}

struct ModelScore {
    ModelId id;
    std::string name;               // cats_dogs_basic_cnn
    std::vector<float> probabilities;  // of class 1, per test image
    std::vector<int> predicted;
    tn::PerformanceMetrics metrics;  // rounded to 4 places, as the chapter
    double auc = 0;
    tn::RocCurve roc;
    std::string report;  // the metrics block, classification report and confusion matrix
    fs::path confusion_png;
    std::optional<TrainingSummary> training;
};

struct EvaluationResult {
    std::vector<ModelScore> scores;  // the models found, A..F
    std::vector<std::string> missing;  // "C (cnn_augmented not run yet)"
    fs::path roc_png;
    std::size_t test_images = 0;
    // The single-image prediction.
    std::size_t image = 0;
    std::string image_name, image_class;
    fs::path image_png;

    [[nodiscard]] const ModelScore* find(ModelId id) const {
        for (const auto& s : scores)
            if (s.id == id) return &s;
        return nullptr;
    }
    // The model with the highest test accuracy (the first of equals).
    [[nodiscard]] const ModelScore* best() const {
        const ModelScore* top = nullptr;
        for (const auto& s : scores)
            if (!top || s.metrics.accuracy > top->metrics.accuracy) top = &s;
        return top;
    }
};

inline std::string fixed4(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.4f", value);
    return text;
}

// The side-by-side table, as plain text.
inline std::string score_table(const EvaluationResult& result) {
    std::string text;
    char line[256];
    std::snprintf(line, sizeof line, "%-5s %-44s %8s %9s %8s %8s %8s\n", "Model", "Approach", "Accuracy", "Precision",
                  "Recall", "F1", "AUC");
    text += line;
    for (const auto& s : result.scores) {
        std::snprintf(line, sizeof line, "%-5c %-44s %8.4f %9.4f %8.4f %8.4f %8.4f\n", letter(s.id),
                      std::string(facts(s.id).title).c_str(), s.metrics.accuracy, s.metrics.precision,
                      s.metrics.recall, s.metrics.f1_score, s.auc);
        text += line;
    }
    return text;
}

// The model's outputs (probability of class 1) for every image of `arrays`, in order.
template <class Model>
std::vector<float> probabilities(Model& model, const ImageArrays& arrays, tn::Preprocessing mode,
                                 std::size_t batch_size = 50) {
    PreparedSource source = plain_source(arrays, mode);
    const xt::xtensor<float, 2> p = tn::predict(model, *source, batch_size);
    return std::vector<float>(p.begin(), p.end());
}

inline double accuracy_of(const std::vector<float>& probabilities, const ImageArrays& arrays) {
    std::size_t hits = 0;
    for (std::size_t i = 0; i < arrays.size(); ++i)
        hits += static_cast<int>(probabilities[i] > 0.5f) == static_cast<int>(arrays.labels(i)) ? 1 : 0;
    return arrays.size() ? static_cast<double>(hits) / static_cast<double>(arrays.size()) : 0.0;
}

namespace detail {

// The test image to show: --image as an index or a name; by default the first of class 1.
inline std::size_t choose_image(const ImageArrays& test, const std::string& choice) {
    if (!choice.empty()) {
        for (std::size_t i = 0; i < test.size(); ++i)
            if (test.names[i] == choice) return i;
        char* end = nullptr;
        const long long n = std::strtoll(choice.c_str(), &end, 10);
        if (end != choice.c_str() && *end == '\0' && n >= 0 && static_cast<std::size_t>(n) < test.size())
            return static_cast<std::size_t>(n);
        throw std::runtime_error("--image " + choice + ": not a test image's name nor an index below " +
                                 std::to_string(test.size()));
    }
    for (std::size_t i = 0; i < test.size(); ++i)
        if (test.labels(i) == 1.0f) return i;
    return 0;
}

}  // namespace detail

// Scores every model that `probabilities_of(id, why)` can give test-image probabilities for
// (an empty optional with a reason in `why` skips the model). evaluate.cpp reloads each
// program's saved model for it.
template <class Setting, class ProbabilitiesOf>
EvaluationResult evaluate_models(Experiment<Setting>& exp, const std::string& image_choice,
                                 ProbabilitiesOf&& probabilities_of) {
    const Stopwatch clock;
    exp.banner("Evaluation: every saved model on the test images (evaluate)");
    const ImageSplits& data = exp.data();
    const std::vector<int> actual = data.test.int_labels();
    const std::vector<int> labels{0, 1};
    EvaluationResult result;
    result.test_images = data.test.size();
    std::vector<tn::NamedRocCurve> curves;
    for (ModelId id : all_models) {
        std::string why;
        auto p = probabilities_of(id, why);
        if (!p) {
            result.missing.push_back(std::string(1, letter(id)) + ": " + why);
            exp.log() << "Model " << letter(id) << " skipped: " << why << std::endl;
            continue;
        }
        ModelScore s;
        s.id = id;
        s.name = exp.model_name(id);
        s.probabilities = std::move(*p);
        s.predicted = tn::classes_above(s.probabilities);
        s.metrics = tn::get_metrics(actual, s.predicted);
        s.report = tn::model_performance_report(actual, s.predicted, labels, data.classes);
        s.roc = tn::roc_curve(actual, s.probabilities);
        s.auc = tn::auc(s.roc);
        s.confusion_png = exp.out() / (s.name + ".confusion_matrix.png");
        tn::plot_confusion_matrix(tn::confusion_matrix(actual, s.predicted, labels, data.classes), s.confusion_png,
                                  std::string("Model ") + letter(id) + ": " + std::string(facts(id).title));
        s.training = read_training_summary(exp.history_file(id));
        exp.log() << "\nModel " << letter(id) << " (" << s.name << "), " << facts(id).title << "\n"
                  << s.report << "ROC AUC: " << fixed4(s.auc) << std::endl;
        curves.push_back({std::string("Model ") + letter(id), s.roc});
        result.scores.push_back(std::move(s));
    }
    if (result.scores.empty())
        throw std::runtime_error("no saved model in " + exp.out().string() +
                                 ": train some first (basic_cnn, cnn_regularized, ... or chapter5)");

    exp.log() << "\nAll models on the " << result.test_images << " test images:\n" << score_table(result);
    result.roc_png = exp.out() / "roc_curves.png";
    tn::plot_roc_curve(curves, result.roc_png, "ROC curves on the test set");

    // One test image through every model.
    result.image = detail::choose_image(data.test, image_choice);
    result.image_name = data.test.names[result.image];
    result.image_class = data.classes[static_cast<std::size_t>(data.test.labels(result.image))];
    exp.log() << "\nSingle-image prediction: " << result.image_name << " (actual: " << result.image_class << ")\n";
    std::vector<std::string> captions;
    for (const auto& s : result.scores) {
        const float p = s.probabilities[result.image];
        const std::string predicted = data.classes[p > 0.5f ? 1 : 0];
        char line[160];
        std::snprintf(line, sizeof line, "  Model %c: P(%s) = %.4f -> %s\n", letter(s.id), data.classes[1].c_str(),
                      static_cast<double>(p), predicted.c_str());
        exp.log() << line;
    }
    constexpr std::size_t h = Setting::height, w = Setting::width, c = Setting::channels;
    std::vector<std::uint8_t> pixels(h * w * c);
    const float* source = data.test.images.data() + result.image * h * w * c;
    for (std::size_t k = 0; k < pixels.size(); ++k)
        pixels[k] = static_cast<std::uint8_t>(std::clamp(source[k], 0.0f, 255.0f));
    const tn::ImageView view(std::span<const std::uint8_t>(pixels), static_cast<int>(h), static_cast<int>(w),
                             static_cast<int>(c));
    result.image_png = exp.out() / "single_image.png";
    tn::plot_image_grid(std::span<const tn::ImageView>(&view, 1), 1, {result.image_name + " (" + result.image_class + ")"},
                        result.image_png, "Test image", Setting::height < 100 ? 168 : 0);
    exp.log() << "Wrote " << result.roc_png.filename().string() << ", " << result.image_png.filename().string()
              << " and a confusion matrix per model in " << exp.out().string() << std::endl;
    exp.record({"Evaluation (" + std::to_string(result.scores.size()) + " models)", clock.seconds(),
                result.scores.size() * result.test_images,
                clock.seconds() > 0 ? static_cast<double>(result.scores.size() * result.test_images) / clock.seconds()
                                    : 0.0,
                std::to_string(result.scores.size()) + " models x " + std::to_string(result.test_images) +
                    " test images"});
    return result;
}

}  // namespace examples
