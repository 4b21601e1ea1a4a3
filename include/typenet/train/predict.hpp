// typenet/train/predict.hpp
// Keras's predict and predict_classes for any typenet model:
//
//   xt::xtensor<float, 2> p = tn::predict(model, test_source, 32);   // (N, outputs) probabilities
//   xt::xtensor<float, 2> p = tn::predict(model, x_test);            // from an xtensor batch
//   std::vector<int> c = tn::predict_classes(model, x_test);          // p > 0.5, or argmax per row
//
// Inference mode (dropout off), in batches, through the model's device; the samples
// come back in the source's order (a shuffling source is read in its epoch-0 order).
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xtensor.hpp>

#include "typenet/core/buffer.hpp"
#include "typenet/core/device.hpp"
#include "typenet/core/tensor.hpp"
#include "typenet/data/batch_source.hpp"
#include "typenet/metrics/predict_classes.hpp"

namespace typenet {

namespace detail {

// Runs the model on `count` samples, fetching each batch's inputs with fill(first, n, host).
template <class Model, class Fill>
xt::xtensor<float, 2> predict_batches(Model& model, std::size_t count, std::size_t batch_size, Fill&& fill) {
    using Device = typename Model::device;
    constexpr std::size_t in_size = Model::input_shape::size, out_size = Model::output_shape::size;
    if (batch_size == 0) throw std::invalid_argument("predict: batch_size must be at least 1");
    xt::xtensor<float, 2> result = xt::zeros<float>({count, out_size});
    Buffer<Device> input(batch_size * in_size), output(batch_size * out_size);
    model.reserve(batch_size);
    for (std::size_t first = 0; first < count;) {
        const std::size_t n = fill(first, std::min(batch_size, count - first), input);
        if (n == 0) break;
        model.forward(input.data(), output.data(), n, Mode::infer);
        output.download(result.data() + first * out_size, n * out_size);
        first += n;
    }
    return result;
}

}  // namespace detail

// Probabilities (or whatever the last layer gives) for every sample of the source.
template <class Model>
xt::xtensor<float, 2> predict(Model& model, BatchSource& source, std::size_t batch_size = 32) {
    constexpr std::size_t in_size = Model::input_shape::size;
    if (source.sample_size() != in_size)
        throw std::invalid_argument("predict: the data has samples of " + std::to_string(source.sample_size()) +
                                    " floats, but the model's input " + Model::input_shape::keras_string() + " takes " +
                                    std::to_string(in_size));
    source.start_epoch(0);
    std::vector<float> x(batch_size * in_size), y(batch_size * source.label_size());
    auto result = detail::predict_batches(model, source.size(), batch_size, [&](std::size_t, std::size_t n, auto& input) {
        const std::size_t got = source.next_batch(x.data(), y.data(), n);
        input.upload(x.data(), got * in_size);
        return got;
    });
    return result;
}

// The same for a batch held in an xtensor of shape (N, sample dims...).
template <class Model>
xt::xtensor<float, 2> predict(Model& model, const Batch<typename Model::input_shape>& x, std::size_t batch_size = 32) {
    check_batch_shape<typename Model::input_shape>(x, "predict");
    constexpr std::size_t in_size = Model::input_shape::size;
    return detail::predict_batches(model, x.shape()[0], batch_size, [&](std::size_t first, std::size_t n, auto& input) {
        input.upload(x.data() + first * in_size, n * in_size);
        return n;
    });
}

// Keras's predict_classes: class 1 where a single sigmoid output is > 0.5, otherwise
// the index of the largest output (metrics/predict_classes.hpp does the thresholding).
template <class Model>
std::vector<int> predict_classes(Model& model, BatchSource& source, std::size_t batch_size = 32) {
    const xt::xtensor<float, 2> p = predict(model, source, batch_size);
    return predict_classes(std::span<const float>(p.data(), p.size()), Model::output_shape::size);
}

template <class Model>
std::vector<int> predict_classes(Model& model, const Batch<typename Model::input_shape>& x, std::size_t batch_size = 32) {
    const xt::xtensor<float, 2> p = predict(model, x, batch_size);
    return predict_classes(std::span<const float>(p.data(), p.size()), Model::output_shape::size);
}

}  // namespace typenet
