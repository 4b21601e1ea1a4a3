// typenet/data/image_folder_source.hpp
// Batches streamed from a flat image folder (Keras's flow_from_directory, with labels
// from file-name prefixes): every epoch reads, decodes, resizes and augments the images
// on worker threads, a bounded number ahead of the training step, so memory stays flat
// for 25,000 images.
//
//   ImageFolderOptions options;
//   options.size = input_image_size<BasicCNN>();          // 150 x 150 x 3
//   options.generator = {.rotation_range = 50, .width_shift_range = 0.2, ...};
//   options.seed = 42;
//   ImageFolderSource train("data/training_data", options);
//   auto validation = ImageFolderSource::for_validation("data/validation_data", options);
//
// Deterministic for a seed: epoch e's order is a permutation drawn from (seed, e) and
// image i's transform in epoch e comes from (seed, e, i), whatever thread makes it.
// Labels: the class index (cat = 0, dog = 1) as one float, or a one-hot row.
// Unreadable files are found when the source is made (data/image_loading.hpp's probe)
// or, rarely, when decoding; each is warned about once, left out of the epoch and of
// every later one, and counted by skipped(). size() is the count of readable files
// known so far, so a file that only fails to decode mid-epoch makes that epoch one
// sample shorter than size() said: read until next_batch returns 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>

#include "typenet/core/random.hpp"
#include "typenet/data/augment.hpp"
#include "typenet/data/batch_source.hpp"
#include "typenet/data/epoch_order.hpp"
#include "typenet/data/image_data_generator.hpp"
#include "typenet/data/image_files.hpp"
#include "typenet/data/image_loading.hpp"
#include "typenet/data/prefetched_epochs.hpp"
#include "typenet/data/skipped_files.hpp"

namespace typenet {

struct ImageFolderOptions {
    ImageSize size{};                               // the model's input: input_image_size<Model>()
    Interpolation resize = Interpolation::nearest;  // Keras load_img's default
    ImageDataGenerator generator{};                 // rescale (1/255 by default) and augmentation
    bool shuffle = true;
    std::uint64_t seed = 0;
    std::size_t workers = 2;     // decoding threads; 0 decodes on the caller's thread
    std::size_t prefetch = 128;  // samples made ahead at most (the memory bound)
    std::vector<std::string> classes{};  // empty: the file-name prefixes, sorted
    bool one_hot = false;                // labels as one-hot rows instead of a class index
    std::ostream* log = &std::clog;      // skipped-file warnings; nullptr for none
};

class ImageFolderSource final : public PrefetchingSource {
public:
    explicit ImageFolderSource(const std::filesystem::path& folder, ImageFolderOptions options = {})
        : options_(std::move(options)),
          files_(list_image_files(folder, options_.classes)),
          skipped_(options_.log) {
        validate(options_.generator);
        if (options_.size.channels != 1 && options_.size.channels != 3)
            throw std::invalid_argument("ImageFolderSource: channels must be 1 or 3, got " +
                                        std::to_string(options_.size.channels));
        if (options_.size.height == 0 || options_.size.width == 0)
            throw std::invalid_argument("ImageFolderSource: the image size must not be zero");
        if (files_.size() == 0) throw std::runtime_error("ImageFolderSource: no image files in " + folder.string());
        for (const auto& path : files_.paths)
            if (auto problem = probe_image_file(path)) skipped_.add(path, *problem);
        skipped_.report(files_.size(), folder);
        if (skipped_.size() == files_.size())
            throw std::runtime_error("ImageFolderSource: none of the " + std::to_string(files_.size()) +
                                     " image files in " + folder.string() + " can be read");
        start_prefetching(options_.size.floats(), label_width(), options_.prefetch, options_.workers,
                          [this](std::size_t item, std::uint64_t epoch, float* sample, float* label) {
                              return produce(item, epoch, sample, label);
                          },
                          [this](std::uint64_t epoch, const Shard& shard) { return order_of(epoch, shard); });
    }
    ~ImageFolderSource() override { stop_prefetching(); }

    // The same folder for validation or testing: rescale only, never augmented, not shuffled.
    static ImageFolderSource for_validation(const std::filesystem::path& folder, ImageFolderOptions options = {}) {
        options.generator = options.generator.without_augmentation();
        options.shuffle = false;
        return ImageFolderSource(folder, std::move(options));
    }

    std::size_t size() const override { return files_.size() - skipped_.size(); }
    std::size_t sample_size() const override { return options_.size.floats(); }
    std::size_t label_size() const override { return label_width(); }
    // Shards cut the order of readable files (order(): indices into files().paths); a file
    // found unreadable only while making its sample leaves that rank's slice one short
    // (the trainer counts what arrives).

    const ImageFiles& files() const { return files_; }
    const std::vector<std::string>& classes() const { return files_.classes; }
    // Unreadable files found so far, and why.
    std::size_t skipped() const { return skipped_.size(); }
    std::vector<std::pair<std::filesystem::path, std::string>> skipped_files() const { return skipped_.files(); }
    const ImageFolderOptions& options() const { return options_; }

private:
    std::size_t label_width() const { return options_.one_hot ? files_.classes.size() : 1; }

    // The readable files of the epoch, in its order; runs while no worker adds to skipped_.
    std::vector<std::size_t> order_of(std::uint64_t epoch, const Shard& shard) const {
        std::vector<std::size_t> order;
        for (auto item : epoch_permutation(files_.size(), options_.shuffle, options_.seed, epoch))
            if (!skipped_.contains(files_.paths[item])) order.push_back(item);
        return shard.active() ? shard_of(order, shard) : order;
    }

    bool produce(std::size_t item, std::uint64_t epoch, float* sample, float* label) const {
        const auto& path = files_.paths[item];
        cv::Mat image;
        try {
            image = read_image(path, options_.size, options_.resize);
        } catch (const ImageReadError& e) {
            skipped_.add(path, e.reason());
            return false;
        }
        cv::Mat out(static_cast<int>(options_.size.height), static_cast<int>(options_.size.width),
                    CV_32FC(static_cast<int>(options_.size.channels)), sample);
        Random rng = augmentation_random(options_.seed, epoch, item);
        augment_image(image, out, options_.generator, rng);
        const std::size_t cls = files_.labels[item];
        if (options_.one_hot) {
            for (std::size_t k = 0; k < files_.classes.size(); ++k) label[k] = k == cls ? 1.0f : 0.0f;
        } else {
            label[0] = static_cast<float>(cls);
        }
        return true;
    }

    ImageFolderOptions options_;
    ImageFiles files_;
    mutable SkippedFiles skipped_;
};

}  // namespace typenet
