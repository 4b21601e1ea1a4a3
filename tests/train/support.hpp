// What the training tests share: a scratch directory, the Keras fixtures, small data
// sets made from a seed, and weight comparisons.
#pragma once

#include "files.hpp"
#include "scratch_directory.hpp"

#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <xtensor/xtensor.hpp>

#include <boost/test/unit_test.hpp>

#include "typenet/core/random.hpp"
#include "typenet/data/idx.hpp"

namespace train_test {

using typenet_test::read_bytes;
using typenet_test::ScratchDirectory;

inline nlohmann::json keras_fixture(const std::string& name) {
    const std::filesystem::path path = std::filesystem::path(TYPENET_FIXTURES_DIR) / "keras" / name;
    std::ifstream in(path);
    if (!in) throw std::runtime_error("missing fixture " + path.string());
    return nlohmann::json::parse(in);
}

// Two Gaussian-ish blobs in `dims` dimensions, labels 0/1: a problem a small net learns fast.
struct Blobs {
    xt::xtensor<float, 2> x;
    xt::xtensor<float, 1> y;
};
inline Blobs make_blobs(std::size_t count, std::size_t dims, std::uint64_t seed, float separation = 1.5f) {
    typenet::Random rng(seed);
    Blobs data{xt::xtensor<float, 2>::from_shape({count, dims}), xt::xtensor<float, 1>::from_shape({count})};
    for (std::size_t i = 0; i < count; ++i) {
        const float label = static_cast<float>(i % 2);
        data.y(i) = label;
        for (std::size_t d = 0; d < dims; ++d) {
            float noise = 0.0f;
            for (int k = 0; k < 4; ++k) noise += rng.uniform(-0.5f, 0.5f);  // roughly normal, sd ~0.58
            const float centre = (d % 2 == 0 ? 1.0f : -1.0f) * (label * 2.0f - 1.0f) * separation * 0.5f;
            data.x(i, d) = centre + noise;
        }
    }
    return data;
}

// Every parameter of a model as host vectors, in the model's order.
template <class M>
std::vector<std::vector<float>> weights_of(const M& model) {
    std::vector<std::vector<float>> values;
    model.for_each_parameter([&](std::string_view, const auto& p, bool) { values.push_back(p.values()); });
    return values;
}

template <class M>
bool all_finite(const M& model) {
    for (const auto& w : weights_of(model))
        for (float v : w)
            if (!std::isfinite(v)) return false;
    return true;
}

}  // namespace train_test
