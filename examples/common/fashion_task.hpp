// examples/common/fashion_task.hpp
// The embedded default replays the chapter's story with data every machine here has
// (Fashion-MNIST, Debian package dataset-fashion-mnist):
//
//   "ImageNet"     the 8 classes that are not the target: a backbone learns them first
//   the target     T-shirt/top (class 0) vs Shirt (class 6), two look-alike classes, split
//                  1500 / 500 / 500 per class exactly as the chapter's dataset builder:
//                  drawn without replacement with the seed, then train, validation, test.
//
// All three target splits come from the training file (as the chapter's come from Kaggle's
// train folder); the backbone never sees a T-shirt or a shirt. The backbone's own
// validation images come from the test file (t10k), 8 classes only.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "common/image_data.hpp"
#include "typenet/core/random.hpp"
#include "typenet/data/idx.hpp"

namespace examples {

// The target task's two Fashion-MNIST classes, in the order they get labels 0 and 1.
inline constexpr std::array<int, 2> fashion_target_classes{0, 6};  // T-shirt/top, Shirt

// Raw IDX contents (bytes) of one half of the dataset.
struct FashionFile {
    tn::IdxArray images, labels;
    std::string name;  // "train" or "t10k"

    [[nodiscard]] std::size_t size() const { return labels.values.size(); }
    [[nodiscard]] int label(std::size_t i) const { return labels.values[i]; }
};

inline FashionFile read_fashion_file(const fs::path& dir, const std::string& name) {
    if (!tn::fashion_mnist_available(dir))
        throw std::runtime_error("Fashion-MNIST is not in " + dir.string() +
                                 " (the Debian package dataset-fashion-mnist installs it; scripts/install-deps does "
                                 "that). Set TYPENET_FASHION_MNIST to another folder, or run the book's experiment "
                                 "with --data DIR.");
    FashionFile file{tn::read_idx(dir / (name + "-images-idx3-ubyte.gz"), 3),
                     tn::read_idx(dir / (name + "-labels-idx1-ubyte.gz"), 1), name};
    if (file.images.dims[0] != file.labels.dims[0] || file.images.dims[1] != 28 || file.images.dims[2] != 28)
        throw std::runtime_error(dir.string() + ": " + name + " images and labels do not match (" +
                                 std::to_string(file.images.dims[0]) + " images, " +
                                 std::to_string(file.labels.dims[0]) + " labels)");
    return file;
}

namespace detail {
// Positions of `label` in file order, shuffled by a generator seeded from (seed, stream):
// the first n of the result are a draw without replacement.
inline std::vector<std::size_t> drawn_positions(const FashionFile& file, int label, std::uint64_t seed,
                                                std::string_view stream, std::size_t needed,
                                                bool all_if_fewer = false) {
    std::vector<std::size_t> positions;
    for (std::size_t i = 0; i < file.size(); ++i)
        if (file.label(i) == label) positions.push_back(i);
    if (all_if_fewer) needed = std::min(needed, positions.size());
    if (positions.size() < needed)
        throw std::runtime_error("Fashion-MNIST " + file.name + " has " + std::to_string(positions.size()) +
                                 " images of class '" + std::string(tn::fashion_mnist_classes[label]) + "', " +
                                 std::to_string(needed) + " asked for");
    std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a of the stream name, as the dataset builder
    for (unsigned char c : stream) h = (h ^ c) * 0x100000001b3ull;
    h ^= static_cast<std::uint64_t>(label) * 0x2545F4914F6CDD1Dull;
    tn::Random rng(seed * 0x9E3779B97F4A7C15ull ^ h);
    for (std::size_t k = 0; k < needed; ++k)
        std::swap(positions[k], positions[k + rng.below(positions.size() - k)]);
    positions.resize(needed);
    return positions;
}

// The images at `positions` (sorted here) with labels from `label_of`.
template <class LabelOf>
ImageArrays gather(const FashionFile& file, std::vector<std::size_t> positions, LabelOf label_of) {
    std::sort(positions.begin(), positions.end());
    ImageArrays out;
    out.images = xt::xtensor<float, 4>::from_shape({positions.size(), 28, 28, 1});
    out.labels = xt::xtensor<float, 1>::from_shape({positions.size()});
    for (std::size_t k = 0; k < positions.size(); ++k) {
        const std::size_t i = positions[k];
        for (std::size_t p = 0; p < 28 * 28; ++p) out.images.data()[k * 784 + p] = file.images.values[i * 784 + p];
        out.labels(k) = static_cast<float>(label_of(file.label(i)));
        out.names.push_back(file.name + " #" + std::to_string(i));
    }
    return out;
}
}  // namespace detail

// T-shirt/top (0) vs Shirt (1): per class `counts` drawn from the training file with the seed.
inline ImageSplits fashion_target_task(const FashionFile& train, SplitCounts counts, std::uint64_t seed) {
    ImageSplits splits;
    std::vector<std::size_t> parts[3];
    for (int target : fashion_target_classes) {
        const auto drawn = detail::drawn_positions(train, target, seed, "target",
                                                   counts.train + counts.validation + counts.test);
        parts[0].insert(parts[0].end(), drawn.begin(), drawn.begin() + counts.train);
        parts[1].insert(parts[1].end(), drawn.begin() + counts.train, drawn.begin() + counts.train + counts.validation);
        parts[2].insert(parts[2].end(), drawn.begin() + counts.train + counts.validation, drawn.end());
        splits.classes.emplace_back(tn::fashion_mnist_classes[target]);
    }
    auto binary = [](int label) { return label == fashion_target_classes[1] ? 1 : 0; };
    splits.train = detail::gather(train, parts[0], binary);
    splits.validation = detail::gather(train, parts[1], binary);
    splits.test = detail::gather(train, parts[2], binary);
    splits.source = "Fashion-MNIST training file (" + tn::fashion_mnist_dir().string() + "), classes T-shirt/top "
                    "and Shirt, " + std::to_string(counts.train) + " / " + std::to_string(counts.validation) + " / " +
                    std::to_string(counts.test) + " per class drawn with seed " + std::to_string(seed);
    return splits;
}

// The backbone's "ImageNet": the other 8 classes, relabelled 0..7 in Fashion-MNIST's order.
inline std::vector<int> fashion_pretraining_classes() {
    std::vector<int> classes;
    for (int c = 0; c < 10; ++c)
        if (std::find(fashion_target_classes.begin(), fashion_target_classes.end(), c) == fashion_target_classes.end())
            classes.push_back(c);
    return classes;
}

// `per_class` images of each (all of a class when it has fewer: 6000 per class in the training file).
inline ImageArrays fashion_pretraining_set(const FashionFile& file, std::size_t per_class, std::uint64_t seed) {
    const std::vector<int> classes = fashion_pretraining_classes();
    std::vector<std::size_t> positions;
    for (int c : classes) {
        const auto drawn = detail::drawn_positions(file, c, seed, "pretrain-" + file.name, per_class, true);
        positions.insert(positions.end(), drawn.begin(), drawn.end());
    }
    return detail::gather(file, positions, [&](int label) {
        return static_cast<int>(std::find(classes.begin(), classes.end(), label) - classes.begin());
    });
}

}  // namespace examples
