// typenet/data/image_set.hpp
// A whole image folder in memory, as the chapter's models A and B load it: every file
// read, resized to the model's input (nearest, as Keras's load_img), float32 scaled by
// 1/255, in file-name order, into one (N, H, W, C) tensor, with labels from the file-name
// prefixes (classes sorted alphabetically: cat = 0, dog = 1).
//
//   auto train = load_image_set("data/training_data", {.size = input_image_size<BasicCNN>()});
//   ArraySource source(train.images, train.labels, /*shuffle=*/true, 42);
//
// Unreadable files are skipped with one warning each and a count at the end; they are
// missing from images/labels/files and listed in skipped_files. A folder where no file
// can be read is an error that names the folder.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "typenet/data/image_data_generator.hpp"
#include "typenet/data/image_files.hpp"
#include "typenet/data/image_loading.hpp"
#include "typenet/data/skipped_files.hpp"

namespace typenet {

struct ImageLoadOptions {
    ImageSize size{};                               // the model's input: input_image_size<Model>()
    Interpolation resize = Interpolation::nearest;  // Keras load_img's default
    float rescale = 1.0f / 255.0f;                  // 1 keeps 0..255 (for an augmenting source)
    std::vector<std::string> classes{};             // empty: the file-name prefixes, sorted
    std::size_t workers = 2;                        // decoding threads
    std::ostream* log = &std::clog;                 // skipped-file warnings; nullptr for none
};

struct ImageSet {
    xt::xtensor<float, 4> images;                // (N, H, W, C)
    xt::xtensor<float, 1> labels;                // (N) class indices
    std::vector<std::string> classes;            // index -> name
    std::vector<std::filesystem::path> files;    // the N files read, in file-name order
    std::vector<std::pair<std::filesystem::path, std::string>> skipped_files;  // (file, reason)

    std::size_t size() const { return files.size(); }
    std::size_t skipped() const { return skipped_files.size(); }
};

inline ImageSet load_image_set(const std::filesystem::path& folder, const ImageLoadOptions& options = {}) {
    const ImageSize size = options.size;
    if (size.channels != 1 && size.channels != 3)
        throw std::invalid_argument("load_image_set: channels must be 1 or 3, got " + std::to_string(size.channels));
    if (size.height == 0 || size.width == 0) throw std::invalid_argument("load_image_set: the image size is zero");
    const ImageFiles listed = list_image_files(folder, options.classes);
    const std::size_t count = listed.size(), per_image = size.floats();
    if (count == 0) throw std::runtime_error("load_image_set: no image files in " + folder.string());

    // A cheap probe first, so the tensor is allocated once for the files that look readable.
    std::vector<std::string> problem(count);
    std::vector<std::size_t> candidates;
    for (std::size_t i = 0; i < count; ++i) {
        if (auto p = probe_image_file(listed.paths[i])) problem[i] = *p;
        else candidates.push_back(i);
    }

    // Decode on a few threads straight into the tensor; each file has its own slot, so the
    // result does not depend on the threads.
    ImageSet set;
    set.classes = listed.classes;
    set.images = xt::xtensor<float, 4>::from_shape({candidates.size(), size.height, size.width, size.channels});
    std::atomic<std::size_t> next{0};
    std::exception_ptr error;
    std::mutex error_mutex;
    auto work = [&] {
        for (std::size_t k; (k = next++) < candidates.size();) {
            const std::size_t i = candidates[k];
            try {
                read_image_into(listed.paths[i], size, set.images.data() + k * per_image, options.resize,
                                options.rescale);
            } catch (const ImageReadError& e) {
                problem[i] = e.reason();
            } catch (...) {
                std::lock_guard lock(error_mutex);
                if (!error) error = std::current_exception();
                next = candidates.size();
            }
        }
    };
    std::vector<std::thread> threads;
    const std::size_t workers = std::max<std::size_t>(1, std::min(options.workers, candidates.size()));
    for (std::size_t t = 1; t < workers; ++t) threads.emplace_back(work);
    work();
    for (auto& t : threads) t.join();
    if (error) std::rethrow_exception(error);

    // Warnings and the skipped list in file-name order; the readable files' labels.
    SkippedFiles skipped(options.log);
    std::vector<std::size_t> kept;  // positions in candidates
    for (std::size_t i = 0; i < count; ++i)
        if (!problem[i].empty()) skipped.add(listed.paths[i], problem[i]);
    for (std::size_t k = 0; k < candidates.size(); ++k)
        if (problem[candidates[k]].empty()) kept.push_back(k);
    skipped.report(count, folder);
    set.skipped_files = skipped.files();
    if (kept.empty())
        throw std::runtime_error("load_image_set: none of the " + std::to_string(count) + " image files in " +
                                 folder.string() + " can be read");

    if (kept.size() != candidates.size()) {  // a file failed only when decoded: drop its slot
        auto compact = xt::xtensor<float, 4>::from_shape({kept.size(), size.height, size.width, size.channels});
        for (std::size_t j = 0; j < kept.size(); ++j)
            std::memcpy(compact.data() + j * per_image, set.images.data() + kept[j] * per_image,
                        per_image * sizeof(float));
        set.images = std::move(compact);
    }
    set.labels = xt::xtensor<float, 1>::from_shape({kept.size()});
    for (std::size_t j = 0; j < kept.size(); ++j) {
        const std::size_t i = candidates[kept[j]];
        set.labels(j) = static_cast<float>(listed.labels[i]);
        set.files.push_back(listed.paths[i]);
    }
    return set;
}

}  // namespace typenet
