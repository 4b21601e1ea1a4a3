// typenet/plot/png_file.hpp
// Writing a picture as PNG without ever leaving a half-written file: the bytes go to a
// temporary file next to the target (same directory, so the rename cannot cross file
// systems), which then replaces the target in one step.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

namespace typenet {

inline void write_png(const cv::Mat& image, const std::filesystem::path& path) {
    namespace fs = std::filesystem;
    const auto fail = [&](const std::string& why) {
        throw std::runtime_error("write_png: cannot write '" + path.string() + "': " + why);
    };
    std::string extension = path.extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (extension != ".png") fail("the file name must end in .png");
    if (image.empty()) fail("the image is empty");
    if (image.depth() != CV_8U || (image.channels() != 1 && image.channels() != 3 && image.channels() != 4))
        fail("only 8-bit gray, BGR or BGRA images are written");
    const fs::path directory = path.has_parent_path() ? path.parent_path() : fs::path(".");
    std::error_code error;
    if (!fs::is_directory(directory, error)) fail("directory '" + directory.string() + "' does not exist");

    std::vector<std::uint8_t> bytes;
    try {
        if (!cv::imencode(".png", image, bytes)) fail("OpenCV could not encode the PNG");
    } catch (const cv::Exception& e) {
        fail(std::string("OpenCV could not encode the PNG: ") + e.what());
    }

    // A random suffix keeps two writers of the same file from sharing a temporary name.
    std::random_device entropy;
    const fs::path temporary =
        directory / (path.stem().string() + ".tmp-" + std::to_string(entropy()) + path.extension().string());
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        if (!out) fail("cannot create temporary file '" + temporary.string() + "'");
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        out.close();
        if (!out) {
            fs::remove(temporary, error);
            fail("writing temporary file '" + temporary.string() + "' failed (disk full?)");
        }
    }
    fs::rename(temporary, path, error);
    if (error) {
        std::error_code ignored;
        fs::remove(temporary, ignored);
        fail("renaming the temporary file failed: " + error.message());
    }
}

}  // namespace typenet
