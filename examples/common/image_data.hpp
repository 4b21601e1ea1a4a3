// examples/common/image_data.hpp
// The images of one experiment, in memory, as raw pixels (0..255): the chapter loads its
// 3,000 / 1,000 / 1,000 images once and every model reads them from there. Raw, because
// each model prepares them its own way (1/255 for the CNNs, the backbone's preprocessing,
// augmentation before scaling), and a view over them costs no copy.
//
//   load_folder_splits(dir, size)   dataset_builder's training_data/ validation_data/ test_data/
//   subset_per_class(arrays, n, s)  n images of each class, drawn with seed s (nested: the
//                                   100 of a seed are among its 300)
//   ArrayViewSource                 batches straight from the arrays (no copy), shuffled or not
//   plain_source(arrays, mode)      those batches with a model's preprocessing on top
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "typenet/core/random.hpp"
#include "typenet/data/batch_source.hpp"
#include "typenet/data/epoch_order.hpp"
#include "typenet/data/image_loading.hpp"
#include "typenet/data/image_set.hpp"
#include "typenet/data/preprocessing.hpp"
#include "chapter5/dataset_builder.hpp"

namespace examples {

namespace tn = typenet;
namespace fs = std::filesystem;

// One split: N images (N, H, W, C) in 0..255, their class indices, and a name per image
// (its file name, or where it came from).
struct ImageArrays {
    xt::xtensor<float, 4> images;
    xt::xtensor<float, 1> labels;
    std::vector<std::string> names;

    [[nodiscard]] std::size_t size() const { return names.size(); }
    [[nodiscard]] std::size_t sample_size() const {
        return images.shape()[1] * images.shape()[2] * images.shape()[3];
    }
    [[nodiscard]] std::size_t count_of(std::size_t label) const {
        return static_cast<std::size_t>(std::count(labels.begin(), labels.end(), static_cast<float>(label)));
    }
    [[nodiscard]] std::vector<int> int_labels() const {
        std::vector<int> out;
        for (float label : labels) out.push_back(static_cast<int>(label));
        return out;
    }
};

struct ImageSplits {
    ImageArrays train, validation, test;
    std::vector<std::string> classes;  // index -> name (index 1 is the positive class)
    std::string source;                // one line: where the images came from
};

// The images at `positions`, in that order.
inline ImageArrays select(const ImageArrays& from, const std::vector<std::size_t>& positions) {
    ImageArrays out;
    const auto& s = from.images.shape();
    out.images = xt::xtensor<float, 4>::from_shape({positions.size(), s[1], s[2], s[3]});
    out.labels = xt::xtensor<float, 1>::from_shape({positions.size()});
    const std::size_t n = from.sample_size();
    for (std::size_t k = 0; k < positions.size(); ++k) {
        std::memcpy(out.images.data() + k * n, from.images.data() + positions[k] * n, n * sizeof(float));
        out.labels(k) = from.labels(positions[k]);
        out.names.push_back(from.names[positions[k]]);
    }
    return out;
}

// `per_class` images of every class, drawn without replacement with the seed (a partial
// Fisher-Yates per class on its images in stored order); kept in stored order. A class with
// fewer images keeps them all. The draw for n is the first n of one permutation per class,
// so smaller subsets of a seed are nested in larger ones.
inline ImageArrays subset_per_class(const ImageArrays& from, std::size_t per_class, std::uint64_t seed) {
    std::vector<std::size_t> chosen;
    const float top = from.size() ? *std::max_element(from.labels.begin(), from.labels.end()) : 0.0f;
    for (std::size_t c = 0; c <= static_cast<std::size_t>(top); ++c) {
        std::vector<std::size_t> members;
        for (std::size_t i = 0; i < from.size(); ++i)
            if (from.labels(i) == static_cast<float>(c)) members.push_back(i);
        const std::size_t take = std::min(per_class, members.size());
        tn::Random rng(seed * 0x9E3779B97F4A7C15ull + 0x51A5EDull * (c + 1));
        for (std::size_t k = 0; k < take; ++k) std::swap(members[k], members[k + rng.below(members.size() - k)]);
        chosen.insert(chosen.end(), members.begin(), members.begin() + static_cast<std::ptrdiff_t>(take));
    }
    std::sort(chosen.begin(), chosen.end());
    return select(from, chosen);
}

// dataset_builder's layout: <data>/training_data, validation_data, test_data; two classes
// named by the file-name prefixes (cat, dog). Pixels stay 0..255. `per_class` > 0 keeps
// that many images of each class per split (drawn with the seed), for quick runs.
struct SplitCounts {
    std::size_t train = 0, validation = 0, test = 0;  // per class; 0 keeps every image
};

inline ImageSplits load_folder_splits(const fs::path& data, tn::ImageSize size, SplitCounts counts,
                                      std::uint64_t seed) {
    const fs::path folders[3] = {data / chapter5::split_folder(chapter5::Split::train),
                                 data / chapter5::split_folder(chapter5::Split::validation),
                                 data / chapter5::split_folder(chapter5::Split::test)};
    for (const auto& folder : folders)
        if (!fs::is_directory(folder))
            throw std::runtime_error(data.string() + " has no " + folder.filename().string() +
                                     "/ folder: make the split first with\n  dataset_builder --source <Kaggle train/> "
                                     "--out " + data.string() +
                                     "\n(or give chapter5 the Kaggle train/ folder itself as --data)");
    ImageSplits splits;
    splits.source = data.string();
    ImageArrays* targets[3] = {&splits.train, &splits.validation, &splits.test};
    const std::size_t caps[3] = {counts.train, counts.validation, counts.test};
    for (int k = 0; k < 3; ++k) {
        tn::ImageLoadOptions options;
        options.size = size;
        options.rescale = 1.0f;  // raw 0..255; each model prepares its own input
        options.classes = splits.classes;
        tn::ImageSet set = tn::load_image_set(folders[k], options);
        if (k == 0) {
            splits.classes = set.classes;
            if (set.classes.size() != 2)
                throw std::runtime_error(folders[k].string() + " has " + std::to_string(set.classes.size()) +
                                         " classes (file-name prefixes); the chapter's models are binary and need 2");
        }
        ImageArrays arrays;
        arrays.images = std::move(set.images);
        arrays.labels = std::move(set.labels);
        for (const auto& file : set.files) arrays.names.push_back(file.filename().string());
        if (caps[k] > 0) arrays = subset_per_class(arrays, caps[k], seed + static_cast<std::uint64_t>(k));
        for (std::size_t c = 0; c < 2; ++c)
            if (arrays.count_of(c) == 0)
                throw std::runtime_error(folders[k].string() + " has no image of class '" + splits.classes[c] + "'");
        *targets[k] = std::move(arrays);
    }
    return splits;
}

// Batches from arrays that stay where they are (no copy); the arrays must outlive the
// source. Shuffled sources draw each epoch's order from (seed, epoch), as ArraySource.
class ArrayViewSource final : public tn::BatchSource {
public:
    ArrayViewSource(const xt::xtensor<float, 4>& images, const xt::xtensor<float, 1>& labels, bool shuffle = false,
                    std::uint64_t seed = 0)
        : images_(&images), labels_(&labels), shuffle_(shuffle), seed_(seed) {
        if (images.shape()[0] != labels.size())
            throw std::invalid_argument("ArrayViewSource: " + std::to_string(images.shape()[0]) + " images but " +
                                        std::to_string(labels.size()) + " labels");
        start_epoch(0);
    }
    explicit ArrayViewSource(const ImageArrays& arrays, bool shuffle = false, std::uint64_t seed = 0)
        : ArrayViewSource(arrays.images, arrays.labels, shuffle, seed) {}

    std::size_t size() const override { return labels_->size(); }
    std::size_t sample_size() const override {
        const auto& s = images_->shape();
        return s[1] * s[2] * s[3];
    }
    std::size_t label_size() const override { return 1; }
    void start_epoch(std::uint64_t epoch) override {
        order_ = tn::shard_of(tn::epoch_permutation(size(), shuffle_, seed_, epoch), shard_);
        cursor_ = 0;
    }
    bool set_shard(const tn::Shard& shard) override {  // data-parallel runs read only their slice
        shard_ = shard;
        return true;
    }
    std::size_t next_batch(float* x, float* y, std::size_t max_batch) override {
        const std::size_t n = std::min(max_batch, order_.size() - cursor_), floats = sample_size();
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t s = order_[cursor_ + i];
            std::memcpy(x + i * floats, images_->data() + s * floats, floats * sizeof(float));
            y[i] = (*labels_)(s);
        }
        cursor_ += n;
        return n;
    }

private:
    const xt::xtensor<float, 4>* images_;
    const xt::xtensor<float, 1>* labels_;
    bool shuffle_;
    std::uint64_t seed_;
    std::vector<std::size_t> order_;
    std::size_t cursor_ = 0;
    tn::Shard shard_;
};

// A batch source of raw images with its preprocessing on top, kept together.
class PreparedSource {
public:
    PreparedSource(std::unique_ptr<tn::BatchSource> raw, tn::Preprocessing mode, std::size_t channels)
        : raw_(std::move(raw)), prepared_(std::make_unique<tn::PreprocessedSource>(*raw_, mode, channels)) {}
    tn::BatchSource& operator*() { return *prepared_; }
    tn::BatchSource* get() { return prepared_.get(); }

private:
    std::unique_ptr<tn::BatchSource> raw_;
    std::unique_ptr<tn::PreprocessedSource> prepared_;
};

// The arrays as they are (no copy), prepared with `mode`.
inline PreparedSource plain_source(const ImageArrays& arrays, tn::Preprocessing mode, bool shuffle = false,
                                   std::uint64_t seed = 0) {
    return PreparedSource(std::make_unique<ArrayViewSource>(arrays, shuffle, seed), mode, arrays.images.shape()[3]);
}

}  // namespace examples
