// The dataset builder on the synthetic Kaggle folder: counts, reproducibility, disjoint
// splits, the manifest, hard links and copies, and refusals that leave no trace.
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "files.hpp"
#include "synthetic_folder.hpp"
#include "chapter5/dataset_builder.hpp"  // examples/: the book's builder
#include "typenet/data/image_files.hpp"

namespace tn = typenet;
namespace fs = std::filesystem;

namespace {
using typenet_test::read_bytes;
std::set<std::string> names_in(const fs::path& folder) {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(folder)) names.insert(entry.path().filename().string());
    return names;
}
chapter5::DatasetBuilderOptions small(const fs::path& out, std::uint64_t seed = 42) {
    return {.source = test_data::kaggle_folder(), .out = out, .seed = seed, .train = 60, .validation = 20, .test = 20};
}
}  // namespace

BOOST_AUTO_TEST_SUITE(dataset_builder)

BOOST_AUTO_TEST_CASE(builds_three_disjoint_flat_splits_with_a_manifest) {
    test_data::TempDir dir("build");
    const fs::path out = dir.path() / "data";
    const auto report = chapter5::build_dataset(small(out));

    BOOST_CHECK(report.plan.classes == (std::vector<std::string>{"cat", "dog", "fox"}));
    std::set<std::string> all;
    const std::map<std::string, std::size_t> want{{"training_data", 60}, {"validation_data", 20}, {"test_data", 20}};
    for (const auto& [folder, per_class] : want) {
        const auto names = names_in(out / folder);
        BOOST_CHECK_EQUAL(names.size(), 3 * per_class);
        std::map<std::string, std::size_t> per;
        for (const auto& name : names) {
            ++per[tn::class_of(name)];
            BOOST_CHECK_MESSAGE(all.insert(name).second, name << " is in two splits");
            BOOST_CHECK(fs::exists(test_data::kaggle_folder() / name));
        }
        for (const auto& cls : {"cat", "dog", "fox"}) BOOST_CHECK_EQUAL(per[cls], per_class);
    }
    BOOST_CHECK_EQUAL(all.size(), 300u);
    BOOST_CHECK_EQUAL(report.plan.count("dog", chapter5::Split::validation), 20u);
    BOOST_CHECK_EQUAL(report.plan.count(chapter5::Split::test), 60u);

    // The manifest lists each file with its class and split, and nothing else is left over.
    const std::string manifest = read_bytes(out / "manifest.csv");
    std::istringstream lines(manifest);
    std::string line;
    std::getline(lines, line);
    BOOST_CHECK_EQUAL(line, "file,class,split");
    std::size_t rows = 0;
    const std::map<std::string, std::string> folder_of{
        {"train", "training_data"}, {"validation", "validation_data"}, {"test", "test_data"}};
    while (std::getline(lines, line)) {
        ++rows;
        const auto a = line.find(','), b = line.rfind(',');
        const std::string file = line.substr(0, a), cls = line.substr(a + 1, b - a - 1), split = line.substr(b + 1);
        BOOST_REQUIRE_EQUAL(cls, tn::class_of(file));
        BOOST_REQUIRE(folder_of.count(split));
        BOOST_REQUIRE_MESSAGE(fs::exists(out / folder_of.at(split) / file), line);
    }
    BOOST_CHECK_EQUAL(rows, 300u);
    BOOST_CHECK(names_in(out) == (std::set<std::string>{"manifest.csv", "test_data", "training_data", "validation_data"}));

    // Hard links on the same file system: the same file, no copy.
    BOOST_CHECK_EQUAL(report.hard_links, 300u);
    BOOST_CHECK_EQUAL(report.copies, 0u);
    const std::string any = *names_in(out / "training_data").begin();
    BOOST_CHECK(fs::equivalent(out / "training_data" / any, test_data::kaggle_folder() / any));

    // The chapter's printout.
    BOOST_CHECK_EQUAL(chapter5::format_split_counts(report.plan),
                      "Cat datasets: (60,) (20,) (20,)\nDog datasets: (60,) (20,) (20,)\nFox datasets: (60,) (20,) (20,)\n");
}

BOOST_AUTO_TEST_CASE(the_same_seed_draws_the_same_files) {
    test_data::TempDir dir("seeds");
    chapter5::build_dataset(small(dir.path() / "a", 7));
    auto copied = small(dir.path() / "b", 7);
    copied.copy = true;
    const auto report = chapter5::build_dataset(copied);
    chapter5::build_dataset(small(dir.path() / "c", 8));
    BOOST_CHECK_EQUAL(report.copies, 300u);
    BOOST_CHECK_EQUAL(report.hard_links, 0u);
    BOOST_CHECK(!fs::equivalent(dir.path() / "b" / "training_data" / *names_in(dir.path() / "b" / "training_data").begin(),
                                test_data::kaggle_folder() / *names_in(dir.path() / "b" / "training_data").begin()));
    const std::string a = read_bytes(dir.path() / "a" / "manifest.csv");
    BOOST_CHECK_EQUAL(a, read_bytes(dir.path() / "b" / "manifest.csv"));
    BOOST_CHECK_NE(a, read_bytes(dir.path() / "c" / "manifest.csv"));
    // The plan alone gives the same draw, and a draw is not simply the first files.
    const auto plan = chapter5::plan_dataset(test_data::kaggle_folder(), 7, 60, 20, 20);
    BOOST_CHECK_EQUAL(plan.entries.size(), 300u);
    const auto train = names_in(dir.path() / "a" / "training_data");
    for (const auto& e : plan.entries)
        if (e.split == chapter5::Split::train) BOOST_REQUIRE(train.count(e.file));
    const auto listed = tn::list_image_files(test_data::kaggle_folder(), {"cat"});
    std::size_t first_sixty_drawn = 0;
    for (std::size_t i = 0; i < 60; ++i) first_sixty_drawn += train.count(listed.paths[i].filename().string());
    BOOST_CHECK_LT(first_sixty_drawn, 50u);  // about 60 * 60 / 131 expected
}

BOOST_AUTO_TEST_CASE(refuses_too_few_files_and_writes_nothing) {
    test_data::TempDir dir("refuse");
    auto options = small(dir.path() / "data");
    options.train = 85;  // 125 needed: cat has 131 files, dog 121, fox 106
    try {
        chapter5::build_dataset(options);
        BOOST_ERROR("a short class was accepted");
    } catch (const chapter5::DatasetError& e) {
        const std::string what = e.what();
        BOOST_CHECK_MESSAGE(what.find("\"fox\" has 106 files, 125 needed (85 train + 20 validation + 20 test)") != std::string::npos, what);
        BOOST_CHECK(what.find("\"dog\" has 121") != std::string::npos);
        BOOST_CHECK(what.find("\"cat\"") == std::string::npos);
        BOOST_CHECK(what.find("nothing was written") != std::string::npos);
    }
    BOOST_CHECK(!fs::exists(dir.path() / "data"));
    BOOST_CHECK_THROW(chapter5::build_dataset({.source = dir.path() / "nowhere", .out = dir.path() / "x"}), chapter5::DatasetError);
    BOOST_CHECK(!fs::exists(dir.path() / "x"));
}

BOOST_AUTO_TEST_CASE(never_overwrites_a_non_empty_folder_unless_told) {
    test_data::TempDir dir("overwrite");
    const fs::path out = dir.path() / "data";
    fs::create_directories(out);
    std::ofstream(out / "keep.txt") << "mine";
    try {
        chapter5::build_dataset(small(out));
        BOOST_ERROR("a non-empty folder was written to");
    } catch (const chapter5::DatasetError& e) {
        BOOST_CHECK(std::string(e.what()).find("not empty") != std::string::npos);
    }
    BOOST_CHECK(names_in(out) == (std::set<std::string>{"keep.txt"}));

    // An empty existing folder is fine; a second build needs overwrite, which replaces only
    // what the builder wrote.
    fs::remove(out / "keep.txt");
    chapter5::build_dataset(small(out, 1));
    std::ofstream(out / "keep.txt") << "mine";
    std::ofstream(out / "training_data" / "stray.jpg") << "from before";
    BOOST_CHECK_THROW(chapter5::build_dataset(small(out, 2)), chapter5::DatasetError);
    auto again = small(out, 2);
    again.overwrite = true;
    chapter5::build_dataset(again);
    BOOST_CHECK_EQUAL(read_bytes(out / "keep.txt"), "mine");
    BOOST_CHECK(!fs::exists(out / "training_data" / "stray.jpg"));
    BOOST_CHECK_EQUAL(names_in(out / "training_data").size(), 180u);
    BOOST_CHECK_EQUAL(read_bytes(out / "manifest.csv"), [&] {
        test_data::TempDir fresh("fresh");
        chapter5::build_dataset(small(fresh.path() / "d", 2));
        return read_bytes(fresh.path() / "d" / "manifest.csv");
    }());
    for (const auto& name : names_in(out)) BOOST_CHECK_MESSAGE(name.find("staging") == std::string::npos, name);
    // The source itself is never an output.
    auto into_source = small(test_data::kaggle_folder());
    into_source.overwrite = true;
    BOOST_CHECK_THROW(chapter5::build_dataset(into_source), chapter5::DatasetError);
}

BOOST_AUTO_TEST_SUITE_END()
