// Model A of the chapter: the basic CNN trained from scratch (Conv 16/64/128 + pools,
// Dense 512, Dense 1), RMSprop lr 1e-3, batch 30, 30 epochs, images in memory scaled by 1/255.
//
//   basic_cnn --summary                       the book's model as Keras prints it
//   basic_cnn --data data --out runs          the book's experiment (dataset_builder's folders)
//   basic_cnn                                 the embedded default (Fashion-MNIST T-shirt/top vs Shirt)
//
// Writes <out>/<prefix>_cnn_from_scratch.safetensors (the book does not save model A; it is
// saved here so that `evaluate` scores all six), .history.csv and .learning_curves.png.
// chapter5.cpp and evaluate.cpp include this file (with EXAMPLES_NO_MAIN) to train and
// reload the same model.
#include <memory>

#include "common/cli.hpp"
#include "common/experiment.hpp"
#include "common/options.hpp"
#include "common/program.hpp"
#include "typenet/typenet.hpp"

namespace basic_cnn {

namespace tn = typenet;
using examples::Experiment;
using examples::ModelId;

// The book's Keras model:
//   model = Sequential()
//   model.add(Conv2D(16, kernel_size=(3, 3), activation='relu', input_shape=input_shape))
//   model.add(MaxPooling2D(pool_size=(2, 2)))
//   model.add(Conv2D(64, kernel_size=(3, 3), activation='relu'))
//   model.add(MaxPooling2D(pool_size=(2, 2)))
//   model.add(Conv2D(128, kernel_size=(3, 3), activation='relu'))
//   model.add(MaxPooling2D(pool_size=(2, 2)))
//   model.add(Flatten())
//   model.add(Dense(512, activation='relu'))
//   model.add(Dense(1, activation='sigmoid'))
// Setting: the image size (150x150x3 in the book, 28x28x1 for the default task).
template <class Setting>
using Model = tn::Sequential<tn::Input<Setting::height, Setting::width, Setting::channels>,  //
                             tn::Conv2D<16, 3, tn::ReLU>, tn::MaxPooling2D<2>,                  //
                             tn::Conv2D<64, 3, tn::ReLU>, tn::MaxPooling2D<2>,                  //
                             tn::Conv2D<128, 3, tn::ReLU>, tn::MaxPooling2D<2>,                 //
                             tn::Flatten, tn::Dense<512, tn::ReLU>, tn::Dense<1, tn::Sigmoid>>;

// What the model sees: pixels scaled by 1/255.
inline constexpr tn::Preprocessing preprocessing = tn::Preprocessing::rescale;

template <class Setting>
tn::History train(Experiment<Setting>& exp) {
    constexpr ModelId id = ModelId::A;
    const examples::Stopwatch clock;
    exp.banner(examples::step_title(id));
    const examples::ImageSplits& data = exp.data();
    const std::uint64_t seed = exp.options().seed;

    auto model = std::make_unique<Model<Setting>>(seed);  // 19 M parameters: on the heap
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

    // model.save('cats_dogs_cnn_from_scratch.h5')
    examples::save_model(*model, exp.model_file(id), preprocessing);
    examples::report_training(exp, id, history, clock);
    return history;
}

}  // namespace basic_cnn

#ifndef EXAMPLES_NO_MAIN
int main(int argc, char** argv) {
    const examples::CommandLine cli(argc, argv,
                                    "usage: basic_cnn [options]   (model A: basic CNN from scratch)\n" +
                                        examples::experiment_usage(),
                                    examples::experiment_flags(), examples::experiment_switches());
    const auto options = examples::parse_experiment_options(cli);
    if (options.summary) {
        auto model = std::make_unique<basic_cnn::Model<examples::BookSetting>>();
        model->summary();
        return 0;
    }
    return examples::run_experiment(options, "model A", [](auto& exp) { basic_cnn::train(exp); });
}
#endif
