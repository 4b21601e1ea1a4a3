// Models D, E and F of the chapter on ResNet-50 (--backbone resnet50), compiled here once
// for every program that takes the flag (vgg16_bottleneck, vgg16_augmented, vgg16_finetune,
// evaluate, chapter5). The programs spell the models out as templates over a Setting and
// declare these instantiations `extern`; this file makes them, apart from the VGG-16 book,
// so that each backbone is one translation unit the build runs beside the others.
// Left out with -DTYPENET_EXAMPLE_BACKBONES=OFF (the flag then says so).
#define EXAMPLES_NO_MAIN
#include "evaluate.cpp"  // and through it vgg16_bottleneck.cpp, vgg16_augmented.cpp, vgg16_finetune.cpp

VGG16_BOTTLENECK_INSTANCES(, examples::ResNet50Setting)
VGG16_AUGMENTED_INSTANCES(, examples::ResNet50Setting)
VGG16_FINETUNE_INSTANCES(, examples::ResNet50Setting)
EVALUATE_INSTANCES(, examples::ResNet50Setting)
