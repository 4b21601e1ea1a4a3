// typenet/data/image_files.hpp
// The files of a flat image folder and their labels, as the chapter names them:
// `cat.123.jpg` is class "cat". Files are listed in file-name order (byte order, the
// same on every machine); classes are the distinct prefixes sorted alphabetically
// (cat = 0, dog = 1), or a list the caller gives (then files of other classes are left
// out, as Keras's `classes=` argument does). Needs no OpenCV: the dataset builder and
// the bottleneck feature extractor use it too.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace typenet {

// Extensions read as images (Keras's white list, plus webp), compared case-insensitively.
inline bool is_image_file_name(const std::filesystem::path& file) {
    std::string ext = file.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp" || ext == ".ppm" || ext == ".pgm" ||
           ext == ".tif" || ext == ".tiff" || ext == ".webp";
}

// The class of a file from its name: everything before the first '.' ("dog.7.jpg" -> "dog").
inline std::string class_of(const std::filesystem::path& file) {
    const std::string name = file.filename().string();
    const auto dot = name.find('.');
    return dot == std::string::npos ? name : name.substr(0, dot);
}

struct ImageFiles {
    std::filesystem::path folder;
    std::vector<std::filesystem::path> paths;  // full paths, in file-name order
    std::vector<std::size_t> labels;           // class index of each path
    std::vector<std::string> classes;          // index -> class name

    std::size_t size() const { return paths.size(); }
    // Files per class, in class-index order.
    std::vector<std::size_t> class_counts() const {
        std::vector<std::size_t> counts(classes.size(), 0);
        for (auto label : labels) ++counts[label];
        return counts;
    }
};

// Lists the image files directly inside `folder` (no recursion). Throws when the folder
// does not exist or is not a directory; an empty result is not an error here.
inline ImageFiles list_image_files(const std::filesystem::path& folder, std::vector<std::string> classes = {}) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(folder, ec))
        throw std::runtime_error("image folder " + folder.string() + " does not exist or is not a directory");

    std::vector<fs::path> names;
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
        const auto& entry = *it;
        std::error_code type_ec;
        if (entry.is_directory(type_ec)) continue;
        if (is_image_file_name(entry.path())) names.push_back(entry.path().filename());
    }
    if (ec) throw std::runtime_error("cannot list image folder " + folder.string() + ": " + ec.message());
    std::sort(names.begin(), names.end(), [](const fs::path& a, const fs::path& b) { return a.native() < b.native(); });

    ImageFiles files;
    files.folder = folder;
    const bool given = !classes.empty();
    if (!given) {
        for (const auto& name : names) classes.push_back(class_of(name));
        std::sort(classes.begin(), classes.end());
        classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
    }
    std::map<std::string, std::size_t, std::less<>> index;
    for (std::size_t i = 0; i < classes.size(); ++i) {
        if (!index.emplace(classes[i], i).second)
            throw std::invalid_argument("class \"" + classes[i] + "\" is listed twice");
    }
    files.classes = std::move(classes);
    for (const auto& name : names) {
        const auto found = index.find(class_of(name));
        if (found == index.end()) continue;  // only possible with a given class list
        files.paths.push_back(folder / name);
        files.labels.push_back(found->second);
    }
    return files;
}

}  // namespace typenet
