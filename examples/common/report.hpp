// examples/common/report.hpp
// chapter5's report.md: which approach won and by how much, every model's test metrics,
// the data-efficiency table, wall time and images/s of each step, and every picture
// (relative links: the PNGs sit beside report.md). Written atomically.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/evaluation.hpp"
#include "common/experiment.hpp"
#include "typenet/backend/cpu/parallel.hpp"
#include "typenet/io/atomic_file.hpp"

namespace examples {

struct Picture {
    std::string caption;
    fs::path file;  // inside the output folder
};

namespace detail {
inline std::string points(double difference) {  // 0.0523 -> "+5.2"
    char text[32];
    std::snprintf(text, sizeof text, "%+.1f", difference * 100.0);
    return text;
}
inline std::string number(double value, const char* format) {
    char text[64];
    std::snprintf(text, sizeof text, format, value);
    return text;
}
inline std::string today() {
    const std::time_t now = std::time(nullptr);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M", std::localtime(&now));
    return text;
}
}  // namespace detail

// The verdict in one sentence: the winner, its margin over the best from-scratch model
// (A, B, C) and over model A.
inline std::string verdict(const EvaluationResult& result) {
    const ModelScore* top = result.best();
    if (!top) return "No model was evaluated.";
    const ModelScore* scratch = nullptr;
    for (ModelId id : {ModelId::A, ModelId::B, ModelId::C})
        if (const ModelScore* s = result.find(id); s && (!scratch || s->metrics.accuracy > scratch->metrics.accuracy))
            scratch = s;
    std::string text = "**Model " + std::string(1, letter(top->id)) + " (" + std::string(facts(top->id).title) +
                       ") won, with test accuracy " + fixed4(top->metrics.accuracy) + "**";
    const bool transfer_won = top->id == ModelId::D || top->id == ModelId::E || top->id == ModelId::F;
    if (scratch && transfer_won) {
        text += ": " + detail::points(top->metrics.accuracy - scratch->metrics.accuracy) +
                " points over the best model trained from scratch (" + std::string(1, letter(scratch->id)) + ", " +
                fixed4(scratch->metrics.accuracy) + ")";
        if (const ModelScore* a = result.find(ModelId::A); a && a != scratch)
            text += " and " + detail::points(top->metrics.accuracy - a->metrics.accuracy) + " over the basic CNN (A, " +
                    fixed4(a->metrics.accuracy) + ")";
        text += ".";
    } else if (!transfer_won) {
        const ModelScore* transfer = nullptr;
        for (ModelId id : {ModelId::D, ModelId::E, ModelId::F})
            if (const ModelScore* s = result.find(id);
                s && (!transfer || s->metrics.accuracy > transfer->metrics.accuracy))
                transfer = s;
        text += transfer ? ": a model trained from scratch beat the best transfer-learning model (" +
                               std::string(1, letter(transfer->id)) + ", " + fixed4(transfer->metrics.accuracy) +
                               ") by " + detail::points(top->metrics.accuracy - transfer->metrics.accuracy) +
                               " points."
                         : ".";
    } else {
        text += ".";
    }
    return text;
}

// One row of the data-efficiency table (chapter5/efficiency.hpp), whose smaller sets train
// for at most efficiency_epoch_cap times the main run's epochs.
inline constexpr std::size_t efficiency_epoch_cap = 3;

struct EfficiencyRow {
    std::size_t per_class = 0;
    std::size_t epochs_scratch = 0, epochs_finetuned = 0;
    double scratch_accuracy = 0;    // model B's recipe
    double finetuned_accuracy = 0;  // model F's recipe
    bool from_main_run = false;     // the full training split: the scores of the main models
};

struct ReportInput {
    std::string title;
    std::string disclaimer;                      // what this run is (and is not)
    std::vector<std::string> setup;              // bullet lines
    std::vector<StepRecord> steps;
    double total_seconds = 0;
    EvaluationResult evaluation;
    std::vector<EfficiencyRow> efficiency;
    std::vector<Picture> pictures;
    std::vector<std::string> classes;
};

inline std::string report_markdown(const ReportInput& in) {
    std::ostringstream md;
    const auto& ev = in.evaluation;
    md << "# " << in.title << "\n\n" << in.disclaimer << "\n\n";
    md << "## Result\n\n" << verdict(ev) << "\n\n";
    if (const ModelScore* top = ev.best(); top && ev.test_images > 0) {
        // One standard error of an accuracy measured on n images: sqrt(p (1 - p) / n).
        const double p = top->metrics.accuracy;
        const double error = std::sqrt(p * (1.0 - p) / static_cast<double>(ev.test_images)) * 100.0;
        md << "How sure: on " << ev.test_images << " test images one standard error of an accuracy near "
           << fixed4(p) << " is " << detail::number(error, "%.1f")
           << " points, so gaps smaller than about " << detail::number(2.0 * error, "%.1f")
           << " points between two models are within the noise of the test set.\n\n";
    }
    md << "Test set: " << ev.test_images << " images (" << in.classes[0] << " = 0, " << in.classes[1]
       << " = 1). Precision, recall and F1 are weighted averages over both classes, rounded to 4 places as in the "
          "chapter.\n\n";
    md << "| Model | Approach | Test accuracy | Precision | Recall | F1 | ROC AUC | Train acc (last epoch) | "
          "Val acc (last / best) | Epochs |\n";
    md << "|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& s : ev.scores) {
        md << "| " << letter(s.id) << " | " << facts(s.id).title << " | " << fixed4(s.metrics.accuracy) << " | "
           << fixed4(s.metrics.precision) << " | " << fixed4(s.metrics.recall) << " | " << fixed4(s.metrics.f1_score)
           << " | " << fixed4(s.auc) << " | ";
        if (s.training)
            md << fixed4(s.training->accuracy) << " | " << fixed4(s.training->val_accuracy) << " / "
               << fixed4(s.training->best_val_accuracy) << " | " << s.training->epochs << " |\n";
        else
            md << "- | - | - |\n";
    }
    for (const auto& m : ev.missing) md << "\nNot evaluated: " << m << "\n";
    md << "\nFiles: each model's weights are `<name>.safetensors`, its history `<name>.history.csv` ("
       << (ev.scores.empty() ? std::string("...") : ev.scores.front().name) << ", ...).\n";

    if (!in.efficiency.empty()) {
        md << "\n## Data efficiency (beyond the chapter)\n\n"
              "Test accuracy of the from-scratch recipe (model B: CNN + dropout) against the fine-tuned backbone "
              "(model F) when only part of the training split is used. A smaller set gets more epochs, so that it "
              "sees as many batches as the full set, up to "
           << efficiency_epoch_cap
           << " times the main run's epochs. No validation set is used in these runs; the full-size row is the main "
              "run's models.\n\n";
        md << "| Training images per class | B: CNN from scratch | F: fine-tuned backbone | F - B (points) | Epochs "
              "(B / F) |\n|---|---|---|---|---|\n";
        for (const auto& r : in.efficiency)
            md << "| " << r.per_class << (r.from_main_run ? " (main run)" : "") << " | " << fixed4(r.scratch_accuracy)
               << " | " << fixed4(r.finetuned_accuracy) << " | "
               << detail::points(r.finetuned_accuracy - r.scratch_accuracy) << " | " << r.epochs_scratch << " / "
               << r.epochs_finetuned << " |\n";
    }

    md << "\n## Single-image prediction\n\nTest image `" << ev.image_name << "` (actual: " << ev.image_class
       << "), [picture](" << ev.image_png.filename().string() << "):\n\n| Model | P(" << in.classes[1]
       << ") | Predicted |\n|---|---|---|\n";
    for (const auto& s : ev.scores) {
        const float p = s.probabilities[ev.image];
        md << "| " << letter(s.id) << " | " << detail::number(p, "%.4f") << " | " << in.classes[p > 0.5f ? 1 : 0]
           << " |\n";
    }

    md << "\n## Setup\n\n";
    for (const auto& line : in.setup) md << "- " << line << "\n";

    md << "\n## Time\n\nWall time of each step (loading, training, validation, saving and plotting included). "
          "Images/s: for training, the images of all epochs over the time of the training steps alone; otherwise "
          "images over wall time.\n\n| Step | Wall time | Images | Images/s | Work |\n|---|---|---|---|---|\n";
    for (const auto& s : in.steps)
        md << "| " << s.step << " | " << format_seconds(s.seconds) << " | " << s.images << " | "
           << (s.images_per_second > 0 ? detail::number(s.images_per_second, "%.0f") : std::string("-")) << " | "
           << s.work << " |\n";
    md << "| **Total** | **" << format_seconds(in.total_seconds) << "** | | | |\n";

    md << "\n## Pictures\n\n";
    for (const auto& p : in.pictures)
        md << "### " << p.caption << "\n\n![" << p.caption << "](" << p.file.filename().string() << ")\n\n";

    md << "## Per-model reports\n\n";
    for (const auto& s : ev.scores)
        md << "### Model " << letter(s.id) << ": " << facts(s.id).title << " (`" << s.name << "`)\n\n```\n"
           << s.report << "ROC AUC: " << fixed4(s.auc) << "\n```\n\n";
    return md.str();
}

inline void write_report(const fs::path& path, const ReportInput& input) {
    tn::io::write_file_atomically(path, report_markdown(input));
}

}  // namespace examples
