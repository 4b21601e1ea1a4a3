// typenet/cuda.cuh
// Everything needed to run typenet models on an NVIDIA GPU, in a .cu file compiled by
// nvcc (CMake: link typenet::cuda):
//
//   #include <typenet/cuda.cuh>
//   using Net = tn::Sequential<tn::Input<150, 150, 3>, tn::Conv2D<16, 3, tn::ReLU>, ...>;
//   tn::on<tn::cuda, Net> model;                                       // weights on the GPU
//   auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::RMSprop{.learning_rate = 1e-4f});
//   trainer.fit(train, {.epochs = 30, .batch_size = 30});
//   tn::io::save_weights(model, "model_a.safetensors");               // loads on the CPU too
//
// The same layers, models, trainer and file formats as on the CPU; only the device
// tag differs. tn::cuda_context() holds the stream, the cuBLAS handle and the TF32
// switch (docs/cuda.md).
#pragma once

#include "typenet/backend/cuda/kernels.cuh"
#include "typenet/io/weights.hpp"
#include "typenet/train/predict.hpp"
#include "typenet/train/trainer.hpp"
#include "typenet/typenet.hpp"
#include "typenet/zoo/vgg.hpp"
