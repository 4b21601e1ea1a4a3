// Model E of the chapter: the frozen VGG-16 base inside the model, then Flatten and the
// dense head, trained on augmented batches with RMSprop lr 2e-5, batch 30, validation
// batch 20, 100 epochs. 19,172,673 parameters, 4,457,985 trainable.
//
//   vgg16_augmented --summary                                  the book's model as Keras prints it
//   vgg16_augmented --data data --weights vgg16.safetensors    the book's experiment
//   vgg16_augmented                                            the embedded default (narrow VGG)
//   vgg16_augmented --data data --backbone mobilenetv2 --weights mobilenetv2.safetensors
//        the same model on MobileNetV2 (or resnet50), frozen; its BatchNormalizations then run in
//        inference mode (TF2's rule for a frozen BN; the book's Keras 2.1 kept batch statistics)
//
// Writes <out>/<prefix>_tlearn_img_aug_cnn.safetensors, .history.csv, .learning_curves.png
// and augmentation.png. chapter5.cpp and evaluate.cpp include this file (with EXAMPLES_NO_MAIN).
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <ostream>
#include <vector>

#include "chapter5/backbone.hpp"
#include "common/cli.hpp"
#include "common/evaluation.hpp"
#include "common/experiment.hpp"
#include "common/options.hpp"
#include "common/program.hpp"
#include "typenet/io/weights.hpp"
#include "typenet/typenet.hpp"
#include "typenet/zoo/vgg.hpp"

namespace vgg16_augmented {

namespace tn = typenet;
using examples::Experiment;
using examples::ModelId;

// In Keras:
//   vgg = vgg16.VGG16(include_top=False, weights='imagenet', input_shape=input_shape)
//   vgg_model = Model(vgg.input, keras.layers.Flatten()(vgg.output))
//   model = Sequential()
//   model.add(vgg_model)
//   model.add(Dense(512, activation='relu', input_dim=input_shape)); model.add(Dropout(0.3))
//   model.add(Dense(512, activation='relu')); model.add(Dropout(0.3))
//   model.add(Dense(1, activation='sigmoid'))
// The backbone (Setting::Backbone) is tn::zoo::VGG16Base<150, 150> in the book, the narrow
// VGG for the default task.
template <class Setting>
using Model = tn::Sequential<tn::Input<Setting::height, Setting::width, Setting::channels>,  //
                             typename Setting::Backbone, tn::Flatten,                           //
                             tn::Dense<512, tn::ReLU>, tn::Dropout<0.3f>,                       //
                             tn::Dense<512, tn::ReLU>, tn::Dropout<0.3f>,                       //
                             tn::Dense<1, tn::Sigmoid>>;

// The model with the backbone's pretrained weights, the backbone frozen
// (vgg_model.trainable = False).
template <class Setting>
std::unique_ptr<Model<Setting>> model(Experiment<Setting>& exp) {
    auto model = std::make_unique<Model<Setting>>(exp.options().seed);
    auto& base = model->template get<Setting::Backbone::name>();
    tn::io::load_weights(base, examples::backbone_weights(exp));
    base.set_trainable(false);
    return model;
}

template <class Setting>
tn::History train(Experiment<Setting>& exp) {
    constexpr ModelId id = ModelId::E;
    const examples::Stopwatch clock;
    exp.banner(examples::step_title(id));

    auto model = vgg16_augmented::model(exp);  // before the images: a wrong file stops the run at once
    model->summary(exp.log());
    const examples::ImageSplits& data = exp.data();
    model->print_trainable(exp.log());
    exp.log() << "Preprocessing: " << tn::describe(exp.preprocessing()) << "\nAugmentation "
              << exp.augmentation_text() << std::endl;

    // model.compile(loss='binary_crossentropy', optimizer=optimizers.RMSprop(lr=2e-5), metrics=['accuracy'])
    const examples::TrainingPlan plan = exp.plan(id);  // lr 2e-5, batch 30 (validation 20), 100 epochs by default
    auto trainer = tn::compile(*model, tn::BinaryCrossentropy{}, tn::RMSprop{.learning_rate = plan.learning_rate});

    // model.fit_generator(train_generator, epochs=100, validation_data=val_generator, ...):
    // augmented training images, plain validation images, both prepared for the backbone
    examples::PreparedSource train = examples::augmented_source(exp, data.train, exp.preprocessing());
    examples::PreparedSource validation = examples::plain_source(data.validation, exp.preprocessing());
    tn::CSVLogger csv(exp.history_file(id));
    tn::BackupAndRestore backup = examples::resume_state(exp, id);
    examples::log_plan(exp, plan, *train, validation.get());
    const tn::History history = trainer.fit(*train, {.epochs = plan.epochs,
                                                     .batch_size = plan.batch_size,
                                                     .validation = validation.get(),
                                                     .validation_batch_size = plan.validation_batch_size,
                                                     .verbose = exp.options().verbose(),
                                                     .callbacks = {&csv, &backup},
                                                     .out = &exp.log()});

    // model.save('cats_dogs_tlearn_img_aug_cnn.h5')
    examples::save_model(*model, exp.model_file(id), exp.preprocessing());
    examples::report_training(exp, id, history, clock);
    return history;
}

// --summary: the model with its backbone frozen, as Keras prints it.
template <class Setting>
void print_summary(std::ostream& out) {
    auto model = std::make_unique<Model<Setting>>(tn::no_initialization);
    model->template get<Setting::Backbone::name>().set_trainable(false);
    model->summary(out);
}

// evaluate: the saved model's class-1 probabilities on the test images, prepared as its file says.
template <class Setting>
std::vector<float> test_probabilities(Experiment<Setting>& exp, const std::filesystem::path& file) {
    auto model = std::make_unique<Model<Setting>>(tn::no_initialization);
    tn::io::load_weights(*model, file);
    return examples::probabilities(*model, exp.data().test, examples::saved_preprocessing(file, exp.preprocessing()));
}

}  // namespace vgg16_augmented

// What the other backbones compile apart (examples/backbones/<backbone>.cpp, one translation
// unit each): `extern` here, explicit instantiations there.
#define VGG16_AUGMENTED_INSTANCES(EXTERN, S)                                                     \
    EXTERN template typenet::History vgg16_augmented::train<S>(examples::Experiment<S>&);         \
    EXTERN template void vgg16_augmented::print_summary<S>(std::ostream&);                         \
    EXTERN template std::vector<float> vgg16_augmented::test_probabilities<S>(examples::Experiment<S>&, \
                                                                              const std::filesystem::path&);
#if TYPENET_EXAMPLE_BACKBONES
VGG16_AUGMENTED_INSTANCES(extern, examples::ResNet50Setting)
VGG16_AUGMENTED_INSTANCES(extern, examples::MobileNetV2Setting)
#endif

#ifndef EXAMPLES_NO_MAIN
int main(int argc, char** argv) {
    const examples::CommandLine cli(argc, argv,
                                    "usage: vgg16_augmented [options]   (model E: frozen VGG-16 + augmentation)\n" +
                                        examples::experiment_usage() + examples::backbone_usage(),
                                    examples::with_backbone_flags(examples::experiment_flags()),
                                    examples::experiment_switches());
    const auto options = examples::parse_experiment_options(cli);
    if (options.summary) {
        examples::with_book_backbone(options.backbone, [](auto setting) {
            vgg16_augmented::print_summary<typename decltype(setting)::type>(std::cout);
        });
        return 0;
    }
    return examples::run_with_backbone(options, "model E", [](auto& exp) {
        examples::write_augmentation_picture(exp);
        vgg16_augmented::train(exp);
    });
}
#endif
