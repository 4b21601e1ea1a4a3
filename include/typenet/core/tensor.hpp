// typenet/core/tensor.hpp
// The xtensor types users hand to and get back from typenet. A batch of samples of
// shape S is an xtensor of rank S::rank + 1 with the batch axis first (NHWC).
#pragma once

#include <array>
#include <cstddef>
#include <stdexcept>
#include <string>

#include <xtensor/xadapt.hpp>
#include <xtensor/xtensor.hpp>

#include "typenet/core/shape.hpp"

namespace typenet {

template <std::size_t Rank>
using Tensor = xt::xtensor<float, Rank>;

// A batch of samples of shape S: Batch<Shape<28, 28, 1>> is xt::xtensor<float, 4>.
template <class S>
using Batch = xt::xtensor<float, S::rank + 1>;

// The xtensor shape of `batch` samples of shape S.
template <class S>
std::array<std::size_t, S::rank + 1> batch_shape(std::size_t batch) {
    std::array<std::size_t, S::rank + 1> shape{};
    shape[0] = batch;
    for (std::size_t i = 0; i < S::rank; ++i) shape[i + 1] = S::dims[i];
    return shape;
}

// Throws unless `data` holds whole samples of shape S (any batch size).
template <class S, class E>
void check_batch_shape(const E& data, std::string_view what) {
    const auto& shape = data.shape();
    bool ok = shape.size() == S::rank + 1;
    for (std::size_t i = 0; ok && i < S::rank; ++i) ok = shape[i + 1] == S::dims[i];
    if (!ok) {
        std::string got = "(";
        for (std::size_t i = 0; i < shape.size(); ++i) got += (i ? ", " : "") + std::to_string(shape[i]);
        throw std::invalid_argument(std::string(what) + ": expected a batch of shape " + S::keras_string() +
                                    ", got " + got + ")");
    }
}

}  // namespace typenet
