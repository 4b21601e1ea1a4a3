// typenet/data/image_array_source.hpp
// Augmented batches from images already in memory (Keras's ImageDataGenerator.flow(x, y)),
// as the chapter's model C does with its 3,000 training images: each epoch transforms
// every image afresh on worker threads, ahead of the training step.
//
//   auto train = load_image_set(dir, {.size = input_image_size<Net>(), .rescale = 1});  // 0..255
//   ImageArraySource source(std::move(train.images), train.labels,
//                           {.generator = {.rotation_range = 50, ...}, .seed = 42});
//
// The generator's rescale (1/255 by default) multiplies after the transform, as in Keras,
// so give it images in 0..255 (or set rescale = 1 for images already scaled); images that
// look already scaled (no value above 1) with rescale < 1 are refused, since dividing by
// 255 twice trains on a black screen.
// Deterministic for a seed: epoch e's order comes from (seed, e) and image i's transform
// in epoch e from (seed, e, i), whatever thread makes it. For plain arrays without
// augmentation, ArraySource (data/array_source.hpp) is simpler.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xtensor.hpp>

#include "typenet/core/random.hpp"
#include "typenet/data/augment.hpp"
#include "typenet/data/batch_source.hpp"
#include "typenet/data/epoch_order.hpp"
#include "typenet/data/image_data_generator.hpp"
#include "typenet/data/prefetched_epochs.hpp"

namespace typenet {

struct ImageArrayOptions {
    ImageDataGenerator generator{};  // rescale (1/255 by default) and augmentation
    bool shuffle = true;
    std::uint64_t seed = 0;
    std::size_t workers = 2;    // threads that transform; 0 works on the caller's thread
    std::size_t prefetch = 128; // samples made ahead at most
};

class ImageArraySource final : public PrefetchingSource {
public:
    // images: (N, H, W, C) with C 1 or 3; labels: (N) or (N, K).
    template <class Labels>
    ImageArraySource(xt::xtensor<float, 4> images, const Labels& labels, ImageArrayOptions options = {})
        : options_(std::move(options)), images_(std::move(images)), labels_(labels.begin(), labels.end()),
          count_(images_.shape()[0]), height_(images_.shape()[1]), width_(images_.shape()[2]),
          channels_(images_.shape()[3]),
          label_size_(labels.dimension() == 0 || count_ == 0 ? 1 : labels.size() / std::max<std::size_t>(count_, 1)) {
        validate(options_.generator);
        if (channels_ < 1 || channels_ > 4)
            throw std::invalid_argument("ImageArraySource: images must have 1 to 4 channels, got shape (" +
                                        std::to_string(count_) + ", " + std::to_string(height_) + ", " +
                                        std::to_string(width_) + ", " + std::to_string(channels_) + ")");
        if (labels.dimension() < 1 || labels.shape()[0] != count_)
            throw std::invalid_argument("ImageArraySource: " + std::to_string(count_) + " images but " +
                                        std::to_string(labels.dimension() < 1 ? 0 : labels.shape()[0]) + " labels");
        if (count_ > 0 && options_.generator.rescale < 1.0f &&
            *std::max_element(images_.begin(), images_.end()) <= 1.0f)
            throw std::invalid_argument(
                "ImageArraySource: the images look already scaled (no value above 1) and rescale is " +
                std::to_string(options_.generator.rescale) +
                ": give images in 0..255, or set generator.rescale = 1");
        start_prefetching(height_ * width_ * channels_, label_size_, options_.prefetch, options_.workers,
                          [this](std::size_t item, std::uint64_t epoch, float* sample, float* label) {
                              return produce(item, epoch, sample, label);
                          },
                          [this](std::uint64_t epoch, const Shard& shard) { return order_of(epoch, shard); });
    }
    ~ImageArraySource() override { stop_prefetching(); }

    std::size_t size() const override { return count_; }
    std::size_t sample_size() const override { return height_ * width_ * channels_; }
    std::size_t label_size() const override { return label_size_; }



private:
    std::vector<std::size_t> order_of(std::uint64_t epoch, const Shard& shard) const {
        return shard_of(epoch_permutation(count_, options_.shuffle, options_.seed, epoch), shard);
    }

    bool produce(std::size_t item, std::uint64_t epoch, float* sample, float* label) const {
        const std::size_t n = sample_size();
        const cv::Mat image(static_cast<int>(height_), static_cast<int>(width_), CV_32FC(static_cast<int>(channels_)),
                            const_cast<float*>(images_.data() + item * n));
        cv::Mat out(static_cast<int>(height_), static_cast<int>(width_), CV_32FC(static_cast<int>(channels_)), sample);
        Random rng = augmentation_random(options_.seed, epoch, item);
        augment_image(image, out, options_.generator, rng);
        std::copy_n(labels_.data() + item * label_size_, label_size_, label);
        return true;
    }

    ImageArrayOptions options_;
    xt::xtensor<float, 4> images_;
    std::vector<float> labels_;
    std::size_t count_, height_, width_, channels_, label_size_;
};

}  // namespace typenet
