// typenet/typenet.hpp
// The umbrella header: core, layers, models, training (fit/evaluate/predict, losses,
// optimizers, callbacks) and weights files.
// Components that need OpenCV, HDF5 or CUDA have their own headers.
#pragma once

#include "typenet/backend/cpu/kernels.hpp"
#include "typenet/core/buffer.hpp"
#include "typenet/core/device.hpp"
#include "typenet/core/fixed_string.hpp"
#include "typenet/core/random.hpp"
#include "typenet/core/shape.hpp"
#include "typenet/core/tensor.hpp"
#include "typenet/layers/activations.hpp"
#include "typenet/layers/conv2d.hpp"
#include "typenet/layers/dense.hpp"
#include "typenet/layers/dropout.hpp"
#include "typenet/layers/flatten.hpp"
#include "typenet/layers/input.hpp"
#include "typenet/layers/padding.hpp"
#include "typenet/layers/pooling.hpp"
#include "typenet/model/sequential.hpp"
#include "typenet/model/summary.hpp"
#include "typenet/train/callbacks.hpp"
#include "typenet/train/losses.hpp"
#include "typenet/train/optimizers.hpp"
#include "typenet/train/predict.hpp"
#include "typenet/train/trainer.hpp"
#include "typenet/io/weights.hpp"
