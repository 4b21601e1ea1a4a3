// examples/chapter5/efficiency.hpp
// Beyond the chapter: how test accuracy depends on the number of training images, for
// the best from-scratch recipe (model B: CNN + dropout, images in memory) and the best
// transfer recipe (model F: fine-tuned backbone + augmentation). Each size draws its
// training images from the training split with the seed (the 100 are among the 300);
// validation is left out (only the test images score), and the recipes are the main
// runs' (optimizer, learning rate, batch size). Epochs: a smaller set gets more epochs, so
// that it sees as many batches as the full set, up to efficiency_epoch_cap times the
// main run's epochs (fewer images are not also punished with fewer updates, and the time
// stays bounded).
// A piece of chapter5.cpp: it trains model B's and model F's networks (cnn_regularized.cpp,
// vgg16_finetune.cpp), which chapter5.cpp includes before it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "common/evaluation.hpp"
#include "common/experiment.hpp"
#include "common/image_data.hpp"
#include "common/report.hpp"
#include "typenet/train/callbacks.hpp"
#include "typenet/train/trainer.hpp"

namespace examples {

// Epochs for `per_class` images when the full run has `full_per_class` and `epochs`.
inline std::size_t efficiency_epochs(std::size_t epochs, std::size_t full_per_class, std::size_t per_class) {
    const std::size_t same_batches = (epochs * full_per_class + per_class - 1) / std::max<std::size_t>(per_class, 1);
    return std::clamp<std::size_t>(same_batches, epochs, epochs * efficiency_epoch_cap);
}

// The main runs' compile and fit (binary cross-entropy, RMSprop at the plan's rate), on a
// subset and without validation; --resume continues it from <out>/<name>.training_state.
template <class Setting, class Model>
tn::History fit_without_validation(Experiment<Setting>& exp, Model& model, const TrainingPlan& plan,
                                   tn::BatchSource& train, const std::string& name) {
    auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::RMSprop{.learning_rate = plan.learning_rate});
    tn::BackupAndRestore backup = resume_state(exp, exp.out() / (name + ".training_state"));
    log_plan(exp, plan, train, nullptr);
    return trainer.fit(train, {.epochs = plan.epochs,
                               .batch_size = plan.batch_size,
                               .verbose = exp.options().verbose(),
                               .callbacks = {&backup},
                               .out = &exp.log()});
}

template <class Setting>
std::vector<EfficiencyRow> data_efficiency(Experiment<Setting>& exp, const std::vector<std::size_t>& sizes,
                                           const EvaluationResult& main) {
    std::vector<EfficiencyRow> rows;
    const ImageSplits& data = exp.data();
    const std::size_t full = std::min(data.train.count_of(0), data.train.count_of(1));
    for (std::size_t n : sizes) {
        EfficiencyRow row;
        row.per_class = std::min(n, full);
        const TrainingPlan b_plan = exp.plan(ModelId::B), f_plan = exp.plan(ModelId::F);
        const ModelScore* b = main.find(ModelId::B);
        const ModelScore* f = main.find(ModelId::F);
        if (row.per_class == full && b && f) {
            row.epochs_scratch = b_plan.epochs;
            row.epochs_finetuned = f_plan.epochs;
            row.scratch_accuracy = b->metrics.accuracy;
            row.finetuned_accuracy = f->metrics.accuracy;
            row.from_main_run = true;
            rows.push_back(row);
            continue;
        }
        const Stopwatch clock;
        exp.banner("Data efficiency: " + std::to_string(row.per_class) + " training images per class, models B and F");
        const ImageArrays subset = subset_per_class(data.train, row.per_class, exp.options().seed + 7);
        std::size_t images = 0;
        double training_seconds = 0;
        {
            TrainingPlan plan = b_plan;
            plan.epochs = row.epochs_scratch = efficiency_epochs(b_plan.epochs, full, row.per_class);
            auto model = std::make_unique<cnn_regularized::Model<Setting>>(exp.options().seed);
            PreparedSource train = plain_source(subset, cnn_regularized::preprocessing, true, exp.options().seed);
            const tn::History history = fit_without_validation(
                exp, *model, plan, *train, "efficiency_B_" + std::to_string(row.per_class) + "_per_class");
            row.scratch_accuracy =
                accuracy_of(probabilities(*model, data.test, cnn_regularized::preprocessing), data.test);
            for (std::size_t k : history.samples) images += k;
            for (double s : history.train_seconds) training_seconds += s;
        }
        {
            TrainingPlan plan = f_plan;
            plan.epochs = row.epochs_finetuned = efficiency_epochs(f_plan.epochs, full, row.per_class);
            auto model = vgg16_finetune::model(exp);
            PreparedSource train = augmented_source(exp, subset, exp.preprocessing());
            const tn::History history = fit_without_validation(
                exp, *model, plan, *train, "efficiency_F_" + std::to_string(row.per_class) + "_per_class");
            row.finetuned_accuracy = accuracy_of(probabilities(*model, data.test, exp.preprocessing()), data.test);
            for (std::size_t k : history.samples) images += k;
            for (double s : history.train_seconds) training_seconds += s;
        }
        exp.log() << "Test accuracy with " << row.per_class << " images per class: B " << fixed4(row.scratch_accuracy)
                  << ", F " << fixed4(row.finetuned_accuracy) << std::endl;
        exp.record({"Data efficiency, " + std::to_string(row.per_class) + " per class (B and F)", clock.seconds(),
                    images, training_seconds > 0 ? static_cast<double>(images) / training_seconds : 0.0,
                    "B " + std::to_string(row.epochs_scratch) + " + F " + count_of(row.epochs_finetuned, "epoch") +
                        " x " + count_of(subset.size(), "image")});
        rows.push_back(row);
    }
    return rows;
}

}  // namespace examples
