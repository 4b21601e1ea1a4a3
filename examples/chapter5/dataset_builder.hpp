// examples/chapter5/dataset_builder.hpp
// The book's, not the library's (the library reads image folders; this makes the chapter's).
// The chapter's "Datasets Builder": from the Kaggle folder (cat.<n>.jpg, dog.<n>.jpg, any
// number of classes by file-name prefix) draw per class 1500 training, then 500
// validation, then 500 test files without replacement, and write them as three flat
// folders, training_data/, validation_data/ and test_data/, plus manifest.csv
// (file,class,split) listing every file and its split.
//
// Reproducible: each class's files are sorted by name and shuffled by the portable
// generator seeded from (seed, class name), so a seed picks the same files on every
// machine (the book's draw went through an unordered set and could not be repeated).
// Safe: everything is checked before anything is written (a class with too few files,
// a non-empty output folder without `overwrite`, output = source), so a refusal leaves
// no trace; files are written into a staging folder inside the output and renamed into
// place at the end, so a failure half-way leaves nothing half-built either. Files are
// hard-linked when the file system allows (no space used), copied otherwise.
// With `overwrite`, only what the builder writes (the three folders and manifest.csv)
// is replaced; anything else in the output folder is left alone.
// The builder does not decode images: unreadable files are copied like the rest and
// skipped (with a warning) by the loaders.
#pragma once

#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "typenet/core/random.hpp"
#include "typenet/data/image_files.hpp"

namespace chapter5 {

namespace tn = typenet;

enum class Split { train, validation, test };

// The folder each split is written to, as the chapter names them.
inline const char* split_folder(Split split) {
    switch (split) {
        case Split::train: return "training_data";
        case Split::validation: return "validation_data";
        case Split::test: return "test_data";
    }
    return "?";
}
// The split's name in manifest.csv.
inline const char* split_name(Split split) {
    switch (split) {
        case Split::train: return "train";
        case Split::validation: return "validation";
        case Split::test: return "test";
    }
    return "?";
}

struct DatasetBuilderOptions {
    std::filesystem::path source;  // the Kaggle train/ folder
    std::filesystem::path out;     // gets training_data/ validation_data/ test_data/ manifest.csv
    std::uint64_t seed = 42;
    std::size_t train = 1500;  // files per class
    std::size_t validation = 500;
    std::size_t test = 500;
    bool overwrite = false;  // replace an earlier build in `out`
    bool copy = false;       // always copy, never hard-link
};

// Refusals (too few files, output not empty, ...): nothing has been written.
class DatasetError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct DatasetEntry {
    std::string file;        // file name (the folders are flat)
    std::string class_name;  // its prefix
    Split split;
};

struct DatasetPlan {
    std::vector<std::string> classes;     // sorted
    std::vector<std::size_t> available;   // files per class in the source
    std::vector<DatasetEntry> entries;    // train, validation, test; by class, then file name
    std::filesystem::path source;

    std::size_t count(std::string_view class_name, Split split) const {
        return static_cast<std::size_t>(std::count_if(entries.begin(), entries.end(), [&](const DatasetEntry& e) {
            return e.class_name == class_name && e.split == split;
        }));
    }
    std::size_t count(Split split) const {
        return static_cast<std::size_t>(
            std::count_if(entries.begin(), entries.end(), [&](const DatasetEntry& e) { return e.split == split; }));
    }
};

struct DatasetReport {
    DatasetPlan plan;
    std::filesystem::path out;
    std::filesystem::path manifest;
    std::size_t hard_links = 0;
    std::size_t copies = 0;
};

namespace detail {
// FNV-1a: a class name's contribution to its seed, the same on every machine.
inline std::uint64_t fnv1a(std::string_view text) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ull;
    return h;
}
inline std::string csv_field(const std::string& text) {
    if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
    std::string quoted = "\"";
    for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    return quoted + "\"";
}
}  // namespace detail

// Draws the split without touching the disk beyond listing `source`. Throws DatasetError
// when there are no images or a class has fewer files than train + validation + test.
inline DatasetPlan plan_dataset(const std::filesystem::path& source, std::uint64_t seed, std::size_t train,
                                std::size_t validation, std::size_t test) {
    namespace fs = std::filesystem;
    tn::ImageFiles listed;
    try {
        listed = tn::list_image_files(source);
    } catch (const std::exception& e) {
        throw DatasetError(std::string("dataset builder: ") + e.what());
    }
    if (listed.size() == 0)
        throw DatasetError("dataset builder: no image files (<class>.<n>.jpg) in " + source.string());
    const std::size_t needed = train + validation + test;
    if (needed == 0) throw DatasetError("dataset builder: train + validation + test is zero");

    DatasetPlan plan;
    plan.source = source;
    plan.classes = listed.classes;
    plan.available = listed.class_counts();
    std::string shortfall;
    for (std::size_t c = 0; c < plan.classes.size(); ++c)
        if (plan.available[c] < needed)
            shortfall += "\n  class \"" + plan.classes[c] + "\" has " + std::to_string(plan.available[c]) +
                         " files, " + std::to_string(needed) + " needed (" + std::to_string(train) + " train + " +
                         std::to_string(validation) + " validation + " + std::to_string(test) + " test)";
    if (!shortfall.empty())
        throw DatasetError("dataset builder: too few files in " + source.string() + ":" + shortfall +
                           "\nnothing was written; lower --train/--validation/--test or add files");

    std::array<std::vector<DatasetEntry>, 3> by_split;
    for (std::size_t c = 0; c < plan.classes.size(); ++c) {
        std::vector<std::string> names;  // already in file-name order
        for (std::size_t i = 0; i < listed.size(); ++i)
            if (listed.labels[i] == c) names.push_back(listed.paths[i].filename().string());
        // Partial Fisher-Yates: the first `needed` places are a draw without replacement.
        tn::Random rng(seed * 0x9E3779B97F4A7C15ull ^ detail::fnv1a(plan.classes[c]));
        for (std::size_t k = 0; k < needed; ++k) std::swap(names[k], names[k + rng.below(names.size() - k)]);
        auto take = [&](std::size_t from, std::size_t n, Split split) {
            std::vector<std::string> chosen(names.begin() + static_cast<std::ptrdiff_t>(from),
                                            names.begin() + static_cast<std::ptrdiff_t>(from + n));
            std::sort(chosen.begin(), chosen.end());
            for (auto& name : chosen) by_split[static_cast<int>(split)].push_back({name, plan.classes[c], split});
        };
        take(0, train, Split::train);
        take(train, validation, Split::validation);
        take(train + validation, test, Split::test);
    }
    for (auto& entries : by_split) plan.entries.insert(plan.entries.end(), entries.begin(), entries.end());
    return plan;
}

// The chapter's printout, one line per class: "Cat datasets: (1500,) (500,) (500,)".
inline std::string format_split_counts(const DatasetPlan& plan) {
    std::ostringstream out;
    for (const auto& cls : plan.classes) {
        std::string title = cls;
        if (!title.empty()) title[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(title[0])));
        out << title << " datasets: (" << plan.count(cls, Split::train) << ",) (" << plan.count(cls, Split::validation)
            << ",) (" << plan.count(cls, Split::test) << ",)\n";
    }
    return out.str();
}

inline DatasetReport build_dataset(const DatasetBuilderOptions& options) {
    namespace fs = std::filesystem;
    const DatasetPlan plan =
        plan_dataset(options.source, options.seed, options.train, options.validation, options.test);

    // Refuse before writing anything.
    std::error_code ec;
    if (options.out.empty()) throw DatasetError("dataset builder: no output folder given");
    if (fs::exists(options.out, ec) && !fs::is_directory(options.out, ec))
        throw DatasetError("dataset builder: output " + options.out.string() + " exists and is not a folder");
    if (fs::weakly_canonical(options.out, ec) == fs::weakly_canonical(options.source, ec))
        throw DatasetError("dataset builder: the output folder is the source folder (" + options.source.string() +
                           ")");
    const bool out_existed = fs::exists(options.out, ec);
    if (out_existed && !fs::is_empty(options.out, ec) && !options.overwrite)
        throw DatasetError("dataset builder: output folder " + options.out.string() +
                           " is not empty; nothing was written (pass --overwrite to replace its " +
                           "training_data/, validation_data/, test_data/ and manifest.csv)");

    DatasetReport report;
    report.plan = plan;
    report.out = options.out;
    report.manifest = options.out / "manifest.csv";

    if (!out_existed) fs::create_directories(options.out);
    const fs::path staging = options.out / (".dataset_builder.staging." + std::to_string(options.seed));
    try {
        fs::remove_all(staging);  // a leftover of an interrupted run
        for (Split split : {Split::train, Split::validation, Split::test})
            fs::create_directories(staging / split_folder(split));
        bool try_links = !options.copy;
        for (const auto& entry : plan.entries) {
            const fs::path from = options.source / entry.file;
            const fs::path to = staging / split_folder(entry.split) / entry.file;
            if (try_links) {
                std::error_code link_ec;
                fs::create_hard_link(from, to, link_ec);
                if (!link_ec) {
                    ++report.hard_links;
                    continue;
                }
                try_links = false;  // another device or no links here: copy from now on
            }
            fs::copy_file(from, to);
            ++report.copies;
        }
        {
            std::ofstream manifest(staging / "manifest.csv", std::ios::binary);
            manifest << "file,class,split\n";
            for (const auto& entry : plan.entries)
                manifest << detail::csv_field(entry.file) << ',' << detail::csv_field(entry.class_name) << ','
                         << split_name(entry.split) << '\n';
            manifest.flush();
            if (!manifest) throw std::runtime_error("cannot write " + (staging / "manifest.csv").string());
        }
        // Into place: the earlier build's outputs go only now that the new one is complete.
        for (Split split : {Split::train, Split::validation, Split::test}) {
            fs::remove_all(options.out / split_folder(split));
            fs::rename(staging / split_folder(split), options.out / split_folder(split));
        }
        fs::rename(staging / "manifest.csv", report.manifest);
        fs::remove_all(staging);
    } catch (const std::exception& e) {
        std::error_code cleanup;
        fs::remove_all(staging, cleanup);
        if (!out_existed) fs::remove_all(options.out, cleanup);
        throw std::runtime_error(std::string("dataset builder: writing ") + options.out.string() +
                                 " failed: " + e.what());
    }
    return report;
}

}  // namespace chapter5
