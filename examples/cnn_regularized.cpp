// Model B of the chapter: the CNN with one more conv block and dropout in the head,
// RMSprop lr 1e-3, batch 30, 30 epochs, images in memory scaled by 1/255.
//
//   cnn_regularized --summary                 the book's model as Keras prints it
//   cnn_regularized --data data --out runs    the book's experiment (dataset_builder's folders)
//   cnn_regularized                           the embedded default (Fashion-MNIST T-shirt/top vs Shirt)
//
// Writes <out>/<prefix>_basic_cnn.safetensors (the book's cats_dogs_basic_cnn), .history.csv
// and .learning_curves.png.
// chapter5.cpp and evaluate.cpp include this file (with EXAMPLES_NO_MAIN) to train and
// reload the same model.
#include <memory>

#include "common/cli.hpp"
#include "common/experiment.hpp"
#include "common/options.hpp"
#include "common/program.hpp"
#include "typenet/typenet.hpp"

namespace cnn_regularized {

namespace tn = typenet;
using examples::Experiment;
using examples::ModelId;

// In Keras: model A with a fourth Conv2D(128) + MaxPooling2D block, and Dropout(0.3) after
// each Dense(512) of the head:
//   ... model.add(Conv2D(128, kernel_size=(3, 3), activation='relu'))
//       model.add(MaxPooling2D(pool_size=(2, 2)))
//       model.add(Flatten())
//       model.add(Dense(512, activation='relu')); model.add(Dropout(0.3))
//       model.add(Dense(512, activation='relu')); model.add(Dropout(0.3))
//       model.add(Dense(1, activation='sigmoid'))
// Setting: the image size and the padding ('valid' in the book; the default task's 28x28
// images need 'same', or nothing is left to convolve after the third pool).
template <class Setting, class Padding = typename Setting::padding>
using Model = tn::Sequential<tn::Input<Setting::height, Setting::width, Setting::channels>,  //
                             tn::Conv2D<16, 3, tn::ReLU, Padding>, tn::MaxPooling2D<2>,         //
                             tn::Conv2D<64, 3, tn::ReLU, Padding>, tn::MaxPooling2D<2>,         //
                             tn::Conv2D<128, 3, tn::ReLU, Padding>, tn::MaxPooling2D<2>,        //
                             tn::Conv2D<128, 3, tn::ReLU, Padding>, tn::MaxPooling2D<2>,        //
                             tn::Flatten,                                                       //
                             tn::Dense<512, tn::ReLU>, tn::Dropout<0.3f>,                       //
                             tn::Dense<512, tn::ReLU>, tn::Dropout<0.3f>,                       //
                             tn::Dense<1, tn::Sigmoid>>;

// What the model sees: pixels scaled by 1/255.
inline constexpr tn::Preprocessing preprocessing = tn::Preprocessing::rescale;

template <class Setting>
tn::History train(Experiment<Setting>& exp) {
    constexpr ModelId id = ModelId::B;
    const examples::Stopwatch clock;
    exp.banner(examples::step_title(id));
    const examples::ImageSplits& data = exp.data();
    const std::uint64_t seed = exp.options().seed;

    auto model = std::make_unique<Model<Setting>>(seed);  // 3.7 M parameters: on the heap
    model->summary(exp.log());

    // model.compile(loss='binary_crossentropy', optimizer=optimizers.RMSprop(lr=1e-3), metrics=['accuracy'])
    const examples::TrainingPlan plan = exp.plan(id);  // lr 1e-3, batch 30, 30 epochs unless a flag says otherwise
    auto trainer = tn::compile(*model, tn::BinaryCrossentropy{}, tn::RMSprop{.learning_rate = plan.learning_rate});

    // model.fit(x=train_imgs_scaled, y=train_labels_enc, validation_data=(...), batch_size, epochs)
    examples::PreparedSource train = examples::plain_source(data.train, preprocessing, /*shuffle=*/true, seed);
    examples::PreparedSource validation = examples::plain_source(data.validation, preprocessing);
    tn::CSVLogger csv(exp.history_file(id));                        // the history, epoch by epoch
    tn::BackupAndRestore backup = examples::resume_state(exp, id);  // what --resume continues from
    examples::log_plan(exp, plan, *train, validation.get());
    const tn::History history = trainer.fit(*train, {.epochs = plan.epochs,
                                                     .batch_size = plan.batch_size,
                                                     .validation = validation.get(),
                                                     .validation_batch_size = plan.validation_batch_size,
                                                     .verbose = exp.options().verbose(),
                                                     .callbacks = {&csv, &backup},
                                                     .out = &exp.log()});

    // model.save('cats_dogs_basic_cnn.h5')
    examples::save_model(*model, exp.model_file(id), preprocessing);
    examples::report_training(exp, id, history, clock);
    return history;
}

}  // namespace cnn_regularized

#ifndef EXAMPLES_NO_MAIN
int main(int argc, char** argv) {
    const examples::CommandLine cli(argc, argv,
                                    "usage: cnn_regularized [options]   (model B: CNN with dropout)\n" +
                                        examples::experiment_usage(),
                                    examples::experiment_flags(), examples::experiment_switches());
    const auto options = examples::parse_experiment_options(cli);
    if (options.summary) {
        auto model = std::make_unique<cnn_regularized::Model<examples::BookSetting>>();
        model->summary();
        return 0;
    }
    return examples::run_experiment(options, "model B", [](auto& exp) { cnn_regularized::train(exp); });
}
#endif
