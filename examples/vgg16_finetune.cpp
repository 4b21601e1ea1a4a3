// Model F of the chapter: as model E, with every layer from block4_conv1 on trainable
// (VGG-16's blocks 4 and 5 fine-tuned with the head), augmented batches, RMSprop lr 1e-5,
// batch 30, validation batch 20, 100 epochs. 19,172,673 parameters, 17,437,185 trainable.
// On the default task the narrow VGG's last block (block3_conv1 on) plays that part.
//
//   vgg16_finetune --summary                                  the book's model as Keras prints it
//   vgg16_finetune --data data --weights vgg16.safetensors    the book's experiment
//   vgg16_finetune                                            the embedded default (narrow VGG)
//   vgg16_finetune --data data --backbone resnet50 --weights resnet50.safetensors
//        the same on ResNet-50, fine-tuned from conv5_block1_1_conv (its last stage) on;
//        mobilenetv2: from block_13_expand; --fine-tune-from LAYER picks another layer
//
// Writes <out>/<prefix>_tlearn_finetune_img_aug_cnn.safetensors, .history.csv,
// .learning_curves.png and augmentation.png. chapter5.cpp and evaluate.cpp include this file (with EXAMPLES_NO_MAIN).
#include <cstdint>
#include <exception>
#include <filesystem>
#include <iostream>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
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

namespace vgg16_finetune {

namespace tn = typenet;
using examples::Experiment;
using examples::ModelId;

// In Keras, model E's network again (the book builds it anew):
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

// Keras's fine-tuning idiom on the whole model, from `layer` on (--fine-tune-from): every
// layer before it frozen, it and every layer after it trainable:
//   set_trainable = False
//   for layer in vgg_model.layers:
//       if layer.name in ['block5_conv1', 'block4_conv1']: set_trainable = True
//       layer.trainable = set_trainable
// A frozen BatchNormalization (ResNet-50, MobileNetV2) runs in inference mode, TF2's rule; the
// book's Keras 2.1 let it normalise with the batch's statistics even when frozen.
template <class Setting>
void fine_tune_from(Model<Setting>& model, const std::string& layer) {
    try {
        model.set_trainable_from(layer);
    } catch (const std::invalid_argument&) {
        throw std::invalid_argument("--fine-tune-from " + layer + ": model F on " +
                                    std::string(Setting::backbone_short) + " ('" +
                                    std::string(Setting::Backbone::name.view()) +
                                    "') has no layer of that name; the default is " +
                                    std::string(Setting::finetune_from) + ", and vgg16_finetune --backbone " +
                                    std::string(Setting::backbone_flag) + " --summary lists every layer");
    }
}

// The model with the backbone's pretrained weights, trainable from the first layer of the
// backbone's last blocks on ("block4_conv1" in the book).
template <class Setting>
std::unique_ptr<Model<Setting>> model(Experiment<Setting>& exp) {
    auto model = std::make_unique<Model<Setting>>(exp.options().seed);
    tn::io::load_weights(model->template get<Setting::Backbone::name>(), examples::backbone_weights(exp));
    fine_tune_from<Setting>(*model, exp.finetune_from());
    return model;
}

template <class Setting>
tn::History train(Experiment<Setting>& exp) {
    constexpr ModelId id = ModelId::F;
    const examples::Stopwatch clock;
    exp.banner(examples::step_title(id));

    auto model = vgg16_finetune::model(exp);  // before the images: a wrong file or layer stops the run at once
    model->summary(exp.log());
    const examples::ImageSplits& data = exp.data();
    model->print_trainable(exp.log());
    exp.log() << "Preprocessing: " << tn::describe(exp.preprocessing()) << "\nAugmentation "
              << exp.augmentation_text() << std::endl;

    // model.compile(loss='binary_crossentropy', optimizer=optimizers.RMSprop(lr=1e-5), metrics=['accuracy'])
    const examples::TrainingPlan plan = exp.plan(id);  // lr 1e-5, batch 30 (validation 20), 100 epochs by default
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

    // model.save('cats_dogs_tlearn_finetune_img_aug_cnn.h5')
    examples::save_model(*model, exp.model_file(id), exp.preprocessing());
    examples::report_training(exp, id, history, clock);
    return history;
}

// --summary: the model fine-tuned from `layer` on, as Keras prints it, then which layers learn.
template <class Setting>
void print_summary(std::ostream& out, const std::string& layer) {
    auto model = std::make_unique<Model<Setting>>(tn::no_initialization);
    fine_tune_from<Setting>(*model, layer);
    model->summary(out);
    model->print_trainable(out);
}

// chapter5: a --fine-tune-from that names no layer stops the run before model A, not after E.
template <class Setting>
void check_fine_tune_from(const std::string& layer) {
    auto model = std::make_unique<Model<Setting>>(tn::no_initialization);
    fine_tune_from<Setting>(*model, layer);
}

// evaluate: the saved model's class-1 probabilities on the test images, prepared as its file says.
template <class Setting>
std::vector<float> test_probabilities(Experiment<Setting>& exp, const std::filesystem::path& file) {
    auto model = std::make_unique<Model<Setting>>(tn::no_initialization);
    tn::io::load_weights(*model, file);
    return examples::probabilities(*model, exp.data().test, examples::saved_preprocessing(file, exp.preprocessing()));
}

}  // namespace vgg16_finetune

// What the other backbones compile apart (examples/backbones/<backbone>.cpp, one translation
// unit each): `extern` here, explicit instantiations there.
#define VGG16_FINETUNE_INSTANCES(EXTERN, S)                                                      \
    EXTERN template typenet::History vgg16_finetune::train<S>(examples::Experiment<S>&);          \
    EXTERN template void vgg16_finetune::print_summary<S>(std::ostream&, const std::string&);      \
    EXTERN template void vgg16_finetune::check_fine_tune_from<S>(const std::string&);              \
    EXTERN template std::vector<float> vgg16_finetune::test_probabilities<S>(examples::Experiment<S>&, \
                                                                             const std::filesystem::path&);
#if TYPENET_EXAMPLE_BACKBONES
VGG16_FINETUNE_INSTANCES(extern, examples::ResNet50Setting)
VGG16_FINETUNE_INSTANCES(extern, examples::MobileNetV2Setting)
#endif

#ifndef EXAMPLES_NO_MAIN
int main(int argc, char** argv) {
    const examples::CommandLine cli(argc, argv,
                                    "usage: vgg16_finetune [options]   (model F: VGG-16 blocks 4-5 fine-tuned + "
                                    "augmentation)\n" +
                                        examples::experiment_usage() + examples::backbone_usage(true),
                                    examples::with_backbone_flags(examples::experiment_flags(), true),
                                    examples::experiment_switches());
    const auto options = examples::parse_experiment_options(cli);
    if (options.summary) {  // the model, then which layers learn (book: from block4_conv1 on)
        try {
            examples::with_book_backbone(options.backbone, [&](auto setting) {
                using S = typename decltype(setting)::type;
                vgg16_finetune::print_summary<S>(std::cout, options.fine_tune_from.value_or(std::string(S::finetune_from)));
            });
        } catch (const std::exception& e) {
            std::cerr << "error: " << e.what() << std::endl;
            return 1;
        }
        return 0;
    }
    return examples::run_with_backbone(options, "model F", [](auto& exp) {
        examples::write_augmentation_picture(exp);
        vgg16_finetune::train(exp);
    });
}
#endif
