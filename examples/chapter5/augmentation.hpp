// examples/chapter5/augmentation.hpp
// The book's augmentation (models C, E and F) and its picture of it. This is the book's, not
// the library's: the library has ImageDataGenerator and augment_image; this header only
// holds the chapter's settings and the chapter's figure.
//
// The chapter's picture of augmentation: each image as loaded, then `variants` augmented
// versions of it side by side (one row per image), written as a PNG. The variants are the
// ones the generator would make (same draw, same resampling); rescale is left out so the
// picture shows 0..255 pixels. The file is written to a temporary name in the same folder
// and renamed, so an existing picture is never half-overwritten.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "typenet/core/random.hpp"
#include "typenet/data/augment.hpp"
#include "typenet/data/image_data_generator.hpp"
#include "typenet/data/image_loading.hpp"

namespace chapter5 {

namespace tn = typenet;

// The chapter's training augmentation (models C, E and F), as its Keras call reads:
// ImageDataGenerator(rescale=1./255, zoom_range=0.3, rotation_range=50,
//                    width_shift_range=0.2, height_shift_range=0.2, shear_range=0.2,
//                    horizontal_flip=True, fill_mode='nearest')
inline tn::ImageDataGenerator training_augmentation() {
    return tn::ImageDataGenerator{.rotation_range = 50,
                                  .width_shift_range = 0.2,
                                  .height_shift_range = 0.2,
                                  .shear_range = 0.2,
                                  .zoom_range = 0.3,
                                  .horizontal_flip = true,
                                  .fill_mode = tn::FillMode::nearest};
}

struct AugmentationGridOptions {
    std::size_t variants = 5;  // augmented versions per image
    std::uint64_t seed = 0;    // variant v of image r uses augmentation_random(seed, v, r)
    int margin = 6;            // white space between tiles, pixels
    bool titles = true;        // "original", "augmented 1", ... above the columns
};

// images: 8-bit RGB (CV_8UC3) or gray (CV_8UC1), all the same size. Returns the grid as
// 8-bit BGR, ready for cv::imwrite.
inline cv::Mat augmentation_grid(const std::vector<cv::Mat>& images, const tn::ImageDataGenerator& generator,
                                 const AugmentationGridOptions& options = {}) {
    if (images.empty()) throw std::invalid_argument("augmentation_grid: no images");
    tn::validate(generator);
    const cv::Size tile = images.front().size();
    for (const auto& image : images)
        if (image.size() != tile || (image.type() != CV_8UC3 && image.type() != CV_8UC1))
            throw std::invalid_argument("augmentation_grid: images must be 8-bit RGB or gray, all of one size");
    tn::ImageDataGenerator shown = generator;
    shown.rescale = 1.0f;

    const int columns = static_cast<int>(options.variants) + 1, rows = static_cast<int>(images.size());
    const int title = options.titles ? 22 : 0, m = options.margin;
    cv::Mat grid(m + rows * (tile.height + title + m), m + columns * (tile.width + m), CV_8UC3,
                 cv::Scalar::all(255));
    for (int r = 0; r < rows; ++r) {
        cv::Mat rgb;
        if (images[r].channels() == 1) cv::cvtColor(images[r], rgb, cv::COLOR_GRAY2RGB);
        else rgb = images[r];
        for (int c = 0; c < columns; ++c) {
            cv::Mat shown_tile;
            if (c == 0) {
                shown_tile = rgb;
            } else {
                tn::Random rng = tn::augmentation_random(options.seed, static_cast<std::uint64_t>(c - 1),
                                                 static_cast<std::uint64_t>(r));
                cv::Mat augmented = tn::augment_image(rgb, shown, rng);
                augmented.convertTo(shown_tile, CV_8U);  // saturates to 0..255
            }
            const int x = m + c * (tile.width + m), y = m + r * (tile.height + title + m);
            if (options.titles) {
                const std::string text = c == 0 ? "original" : "augmented " + std::to_string(c);
                cv::putText(grid, text, cv::Point(x + 2, y + title - 7), cv::FONT_HERSHEY_SIMPLEX, 0.45,
                            cv::Scalar::all(40), 1, cv::LINE_AA);
            }
            cv::Mat bgr;
            cv::cvtColor(shown_tile, bgr, cv::COLOR_RGB2BGR);
            bgr.copyTo(grid(cv::Rect(x, y + title, tile.width, tile.height)));
        }
    }
    return grid;
}

namespace detail {
// Writes a PNG atomically (temporary file in the same folder, then rename).
inline void write_png_atomically(const cv::Mat& image, const std::filesystem::path& png) {
    namespace fs = std::filesystem;
    const fs::path folder = png.parent_path().empty() ? fs::path(".") : png.parent_path();
    const fs::path temp = folder / ("." + png.stem().string() + ".tmp.png");
    bool written = false;
    try {
        written = cv::imwrite(temp.string(), image);
    } catch (const cv::Exception& e) {
        throw std::runtime_error("cannot write " + png.string() + ": " + e.err);
    }
    if (!written) {
        std::error_code ec;
        fs::remove(temp, ec);
        throw std::runtime_error("cannot write " + png.string() + " (is the folder there and writable?)");
    }
    fs::rename(temp, png);
}
}  // namespace detail

// Reads each file at `size` (as the model sees it) and writes the grid to `png`.
inline void write_augmentation_grid(const std::vector<std::filesystem::path>& files,
                                    const tn::ImageDataGenerator& generator, const std::filesystem::path& png,
                                    tn::ImageSize size = {}, const AugmentationGridOptions& options = {},
                                    tn::Interpolation resize = tn::Interpolation::nearest) {
    std::vector<cv::Mat> images;
    for (const auto& file : files) images.push_back(tn::read_image(file, size, resize));
    detail::write_png_atomically(augmentation_grid(images, generator, options), png);
}

}  // namespace chapter5
