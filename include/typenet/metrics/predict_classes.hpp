// typenet/metrics/predict_classes.hpp
// From network outputs to class labels, as Keras 2's Sequential.predict_classes:
// one sigmoid output per sample gives (p > 0.5) as 0/1; several outputs give the argmax.
#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace typenet {

// 1 where p > threshold (strictly, so p == threshold is class 0, as `(p > 0.5).astype('int32')`).
inline std::vector<int> classes_above(std::span<const float> probabilities, float threshold = 0.5f) {
    std::vector<int> classes(probabilities.size());
    for (std::size_t i = 0; i < probabilities.size(); ++i) {
        if (std::isnan(probabilities[i]))
            throw std::invalid_argument("classes_above: probability " + std::to_string(i) + " is NaN");
        classes[i] = probabilities[i] > threshold ? 1 : 0;
    }
    return classes;
}

// `probabilities` holds `outputs_per_sample` values per sample, sample after sample
// (the row-major (N, outputs) array a model's predict gives).
inline std::vector<int> predict_classes(std::span<const float> probabilities, std::size_t outputs_per_sample = 1) {
    if (outputs_per_sample == 0) throw std::invalid_argument("predict_classes: outputs_per_sample must be at least 1");
    if (probabilities.size() % outputs_per_sample != 0)
        throw std::invalid_argument("predict_classes: " + std::to_string(probabilities.size()) +
                                    " values do not split into rows of " + std::to_string(outputs_per_sample));
    if (outputs_per_sample == 1) return classes_above(probabilities, 0.5f);
    const std::size_t samples = probabilities.size() / outputs_per_sample;
    std::vector<int> classes(samples);
    for (std::size_t s = 0; s < samples; ++s) {
        const float* row = probabilities.data() + s * outputs_per_sample;
        std::size_t best = 0;  // first maximum wins, as numpy's argmax
        for (std::size_t k = 0; k < outputs_per_sample; ++k) {
            if (std::isnan(row[k]))
                throw std::invalid_argument("predict_classes: output " + std::to_string(k) + " of sample " +
                                            std::to_string(s) + " is NaN");
            if (row[k] > row[best]) best = k;
        }
        classes[s] = static_cast<int>(best);
    }
    return classes;
}

}  // namespace typenet
