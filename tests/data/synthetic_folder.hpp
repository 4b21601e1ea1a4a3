// A Kaggle-style folder made for the tests: small JPEGs named <class>.<n>.jpg whose
// content says their class (cat: a blue disc, dog: a red square, fox: a green bar, on
// noise), plus broken files named like images (a truncated JPEG, a text file, an empty
// file) and a non-image file that listing must ignore. Made once per test run in a
// temporary folder, removed at exit.
#pragma once

#include "scratch_directory.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <unistd.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace test_data {

namespace fs = std::filesystem;

// The dominant RGB channel of each class's pictures.
inline const std::map<std::string, int>& class_channel() {
    static const std::map<std::string, int> channels{{"cat", 2}, {"dog", 0}, {"fox", 1}};
    return channels;
}

inline const std::map<std::string, std::size_t>& class_sizes() {
    static const std::map<std::string, std::size_t> sizes{{"cat", 130}, {"dog", 120}, {"fox", 105}};
    return sizes;
}
inline constexpr std::size_t good_files = 130 + 120 + 105;
inline const std::vector<std::string>& broken_files() {
    static const std::vector<std::string> names{"cat.900.jpg", "dog.901.jpg", "fox.902.jpg"};
    return names;
}

// One picture of class `cls` (RGB, h x w), seeded by n.
inline cv::Mat make_picture(const std::string& cls, int n, int height, int width) {
    cv::Mat rgb(height, width, CV_8UC3);
    cv::RNG rng(static_cast<std::uint64_t>(n) * 7919u + cls.size());
    rng.fill(rgb, cv::RNG::UNIFORM, 0, 60);
    cv::Scalar colour(0, 0, 0);
    colour[class_channel().at(cls)] = 230;
    const int cy = height / 2 + n % 5 - 2, cx = width / 2 + n % 7 - 3, r = std::min(height, width) / 3;
    if (cls == "cat") cv::circle(rgb, {cx, cy}, r, colour, cv::FILLED);
    else if (cls == "dog") cv::rectangle(rgb, cv::Rect(cx - r, cy - r, 2 * r, 2 * r), colour, cv::FILLED);
    else cv::rectangle(rgb, cv::Rect(2, cy - r, width - 4, 2 * r), colour, cv::FILLED);
    return rgb;
}

inline void write_rgb_jpeg(const fs::path& file, const cv::Mat& rgb) {
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    cv::imwrite(file.string(), bgr, {cv::IMWRITE_JPEG_QUALITY, 90});
}

using TempDir = typenet_test::ScratchDirectory;

inline void make_kaggle_folder(const fs::path& folder) {
    fs::create_directories(folder);
    for (const auto& [cls, count] : class_sizes())
        for (std::size_t n = 0; n < count; ++n) {
            const int h = 40 + static_cast<int>(n % 4) * 6, w = 44 + static_cast<int>(n % 3) * 8;
            write_rgb_jpeg(folder / (cls + "." + std::to_string(n) + ".jpg"), make_picture(cls, static_cast<int>(n), h, w));
        }
    // A truncated JPEG: a real one cut in half.
    {
        std::vector<uchar> bytes;
        cv::imencode(".jpg", make_picture("cat", 900, 48, 48), bytes);
        std::ofstream out(folder / broken_files()[0], std::ios::binary);
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size() / 2));
    }
    std::ofstream(folder / broken_files()[1]) << "this is not a picture of a dog\n";
    std::ofstream(folder / broken_files()[2]).flush();  // empty
    std::ofstream(folder / "notes.txt") << "not an image name: listing ignores it\n";
}

// The shared folder (made on first use).
inline const fs::path& kaggle_folder() {
    static TempDir dir("kaggle");
    static bool made = [] {
        make_kaggle_folder(dir.path() / "train");
        return true;
    }();
    (void)made;
    static const fs::path train = dir.path() / "train";
    return train;
}

}  // namespace test_data
