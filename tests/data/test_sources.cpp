// Batch sources: the streamed folder source and the in-memory augmenting source are
// deterministic for a seed whatever the threads, bounded in memory, never augment
// validation data, skip broken files, and stop cleanly mid-epoch.
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "child_process.hpp"
#include "synthetic_folder.hpp"
#include "chapter5/augmentation.hpp"  // examples/: the book's augmentation
#include "typenet/data/image_array_source.hpp"
#include "typenet/data/image_folder_source.hpp"
#include "typenet/data/image_set.hpp"

namespace tn = typenet;
namespace fs = std::filesystem;

namespace {
const tn::ImageDataGenerator chapter_augmentation = chapter5::training_augmentation();

struct Epoch {
    std::vector<float> x, y;
    std::vector<std::size_t> batch_sizes;
};
// Reads a whole epoch in batches of `batch`.
Epoch read_epoch(tn::BatchSource& source, std::uint64_t epoch, std::size_t batch) {
    source.start_epoch(epoch);
    Epoch e;
    std::vector<float> x(batch * source.sample_size()), y(batch * source.label_size());
    while (std::size_t n = source.next_batch(x.data(), y.data(), batch)) {
        e.x.insert(e.x.end(), x.begin(), x.begin() + n * source.sample_size());
        e.y.insert(e.y.end(), y.begin(), y.begin() + n * source.label_size());
        e.batch_sizes.push_back(n);
    }
    return e;
}
tn::ImageFolderOptions small_options(std::size_t workers, std::uint64_t seed = 3) {
    tn::ImageFolderOptions o;
    o.size = {24, 28, 3};
    o.generator = chapter_augmentation;
    o.seed = seed;
    o.workers = workers;
    o.prefetch = 16;
    o.log = nullptr;
    return o;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(sources)

BOOST_AUTO_TEST_CASE(folder_source_skips_broken_files_and_labels_by_prefix) {
    std::ostringstream log;
    auto options = small_options(2);
    options.log = &log;
    tn::ImageFolderSource source(test_data::kaggle_folder(), options);
    BOOST_CHECK_EQUAL(source.skipped(), 3u);
    BOOST_CHECK_EQUAL(source.size(), test_data::good_files);
    BOOST_CHECK_EQUAL(source.sample_size(), 24u * 28u * 3u);
    BOOST_CHECK_EQUAL(source.label_size(), 1u);
    for (const auto& name : test_data::broken_files())
        BOOST_CHECK_MESSAGE(log.str().find(name) != std::string::npos, "no warning for " << name);

    const Epoch e = read_epoch(source, 0, 32);
    BOOST_CHECK_EQUAL(e.y.size(), test_data::good_files);
    BOOST_CHECK_EQUAL(e.batch_sizes.front(), 32u);
    BOOST_CHECK_EQUAL(e.batch_sizes.back(), test_data::good_files % 32);
    // Labels follow the epoch's order, and the order is a permutation of the good files.
    std::set<std::size_t> seen;
    for (std::size_t i = 0; i < source.order().size(); ++i) {
        const std::size_t item = source.order()[i];
        BOOST_REQUIRE(seen.insert(item).second);
        BOOST_REQUIRE_EQUAL(e.y[i], float(source.files().labels[item]));
    }
    BOOST_CHECK_EQUAL(seen.size(), test_data::good_files);
    BOOST_CHECK_EQUAL(source.skipped(), 3u);  // still three, each warned about once
    BOOST_CHECK_LE(*std::max_element(e.x.begin(), e.x.end()), 1.0f);
}

BOOST_AUTO_TEST_CASE(folder_source_is_deterministic_whatever_the_threads) {
    tn::ImageFolderSource two(test_data::kaggle_folder(), small_options(2));
    tn::ImageFolderSource inline_(test_data::kaggle_folder(), small_options(0));
    const Epoch a0 = read_epoch(two, 0, 30), b0 = read_epoch(inline_, 0, 30);
    BOOST_CHECK(a0.x == b0.x);
    BOOST_CHECK(a0.y == b0.y);
    const Epoch a1 = read_epoch(two, 1, 17), b1 = read_epoch(inline_, 1, 64);
    BOOST_CHECK(a1.x == b1.x);  // batch size does not matter either
    BOOST_CHECK(a1.y != a0.y);  // a new order each epoch
    // Rewinding to an epoch gives it again.
    const Epoch again = read_epoch(two, 0, 30);
    BOOST_CHECK(again.x == a0.x);
    // Another seed, another epoch.
    tn::ImageFolderSource other(test_data::kaggle_folder(), small_options(2, 4));
    BOOST_CHECK(read_epoch(other, 0, 30).x != a0.x);
}

BOOST_AUTO_TEST_CASE(validation_batches_are_rescaled_but_never_augmented) {
    auto options = small_options(2);
    auto validation = tn::ImageFolderSource::for_validation(test_data::kaggle_folder(), options);
    BOOST_CHECK(!validation.options().generator.augments());
    BOOST_CHECK(!validation.options().shuffle);
    const Epoch e = read_epoch(validation, 5, 50);
    // Exactly what loading the folder into memory gives, in file-name order.
    const auto set = tn::load_image_set(test_data::kaggle_folder(), {.size = {24, 28, 3}, .log = nullptr});
    BOOST_REQUIRE_EQUAL(e.x.size(), set.images.size());
    BOOST_CHECK(std::equal(e.x.begin(), e.x.end(), set.images.begin()));
    BOOST_CHECK(std::equal(e.y.begin(), e.y.end(), set.labels.begin()));
}

BOOST_AUTO_TEST_CASE(memory_stays_bounded_by_the_prefetch) {
    // Measured on the process: a child reads a whole epoch of 512 x 512 x 3 samples (3 MiB
    // each as floats) through 8 prefetch slots, with slow training steps, and its peak
    // resident memory (the kernel's count, from wait4) may grow by what 8 slots, a batch
    // and the workers' decoding need, far below the 1.1 GB of the epoch held at once.
    auto options = small_options(2);
    options.prefetch = 8;
    options.size = {512, 512, 3};
    options.generator = {};  // rescale only: the queue is what is measured, not the resampling
    constexpr double sample_mb = 512.0 * 512 * 3 * sizeof(float) / (1 << 20);
    const double epoch_mb = sample_mb * test_data::good_files;
    std::size_t total = 0, peak_prefetched = 0;
    const long before_kb = typenet_test::resident_kb();
    const auto outcome = typenet_test::run_in_child([&] {
        tn::ImageFolderSource source(test_data::kaggle_folder(), options);
        std::vector<float> x(4 * source.sample_size()), y(4);
        while (std::size_t n = source.next_batch(x.data(), y.data(), 4)) {
            total += n;
            if (total % 40 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(15));  // a slow training step
        }
        if (total != test_data::good_files) throw std::runtime_error("read " + std::to_string(total) + " samples");
        peak_prefetched = source.peak_prefetched();
        if (peak_prefetched == 0 || peak_prefetched > 8)
            throw std::runtime_error("peak_prefetched " + std::to_string(peak_prefetched));
    });
    BOOST_REQUIRE_MESSAGE(outcome.returned, outcome.describe());
    const double growth_mb = static_cast<double>(outcome.peak_rss_kb - before_kb) / 1024.0;
    BOOST_TEST_MESSAGE("prefetch 8: the child grew by " << growth_mb << " MB; the epoch is " << epoch_mb << " MB");
    // 8 slots + a batch of 4 + one sample per worker being made = 14 samples, 42 MB; the
    // rest is the decoders' working memory.
    BOOST_TEST(growth_mb < typenet_test::memory_bound_mb(14 * sample_mb + 60));
    BOOST_TEST(epoch_mb > 1000.0);  // the bound would catch an unbounded queue
}

BOOST_AUTO_TEST_CASE(stopping_mid_epoch_joins_cleanly) {
    for (int round = 0; round < 5; ++round) {
        auto source = std::make_unique<tn::ImageFolderSource>(test_data::kaggle_folder(), small_options(2));
        std::vector<float> x(10 * source->sample_size()), y(10);
        BOOST_CHECK_EQUAL(source->next_batch(x.data(), y.data(), 10), 10u);
        source->start_epoch(1);  // restarts mid-epoch
        BOOST_CHECK_EQUAL(source->next_batch(x.data(), y.data(), 10), 10u);
        source.reset();  // workers busy or waiting: must join, not hang or crash
    }
}

BOOST_AUTO_TEST_CASE(one_hot_labels_and_gray_models) {
    auto options = small_options(1);
    options.one_hot = true;
    options.size = {20, 20, 1};
    options.shuffle = false;
    options.generator = {};
    tn::ImageFolderSource source(test_data::kaggle_folder(), options);
    BOOST_CHECK_EQUAL(source.label_size(), 3u);
    BOOST_CHECK_EQUAL(source.sample_size(), 400u);
    const Epoch e = read_epoch(source, 0, 64);
    for (std::size_t i = 0; i < test_data::good_files; ++i) {
        const std::size_t label = source.files().labels[source.order()[i]];
        for (std::size_t k = 0; k < 3; ++k) BOOST_REQUIRE_EQUAL(e.y[i * 3 + k], k == label ? 1.0f : 0.0f);
    }
}

BOOST_AUTO_TEST_CASE(folder_errors_name_the_folder) {
    test_data::TempDir dir("broken-only");
    std::ofstream(dir.path() / "cat.1.jpg") << "no";
    std::ofstream(dir.path() / "dog.2.png").flush();
    try {
        tn::ImageFolderSource source(dir.path(), small_options(2));
        BOOST_ERROR("a folder without one readable image made a source");
    } catch (const std::runtime_error& e) {
        BOOST_CHECK(std::string(e.what()).find(dir.path().string()) != std::string::npos);
        BOOST_CHECK(std::string(e.what()).find("none of the 2") != std::string::npos);
    }
    test_data::TempDir empty("no-images");
    BOOST_CHECK_THROW(tn::ImageFolderSource(empty.path(), small_options(2)), std::runtime_error);
    auto bad = small_options(2);
    bad.size.channels = 4;
    BOOST_CHECK_THROW(tn::ImageFolderSource(test_data::kaggle_folder(), bad), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(array_source_augments_in_memory_deterministically) {
    const auto raw = tn::load_image_set(test_data::kaggle_folder(), {.size = {24, 28, 3}, .rescale = 1, .log = nullptr});
    tn::ImageArraySource two(raw.images, raw.labels, {.generator = chapter_augmentation, .seed = 9, .workers = 2, .prefetch = 8});
    tn::ImageArraySource none(raw.images, raw.labels, {.generator = chapter_augmentation, .seed = 9, .workers = 0});
    BOOST_CHECK_EQUAL(two.size(), test_data::good_files);
    const Epoch a = read_epoch(two, 2, 30), b = read_epoch(none, 2, 30);
    BOOST_CHECK(a.x == b.x && a.y == b.y);
    BOOST_CHECK_LE(two.peak_prefetched(), 8u);
    // Without augmentation: the images times rescale, in the shuffled order.
    tn::ImageArraySource plain(raw.images, raw.labels, {.seed = 9, .workers = 2});
    const Epoch p = read_epoch(plain, 0, 100);
    BOOST_CHECK(plain.order() != two.order());  // epochs 0 and 2 are shuffled differently
    const Epoch a0 = read_epoch(two, 0, 30);
    BOOST_CHECK(a0.y == p.y);       // same seed and epoch: the same order...
    BOOST_CHECK(a0.x != p.x);       // ...but augmented
    BOOST_CHECK_LE(*std::max_element(a0.x.begin(), a0.x.end()), 1.0f);
    const std::size_t n = 24 * 28 * 3;
    for (std::size_t i = 0; i < plain.order().size(); i += 37) {
        const std::size_t item = plain.order()[i];
        for (std::size_t k = 0; k < n; k += 101) BOOST_REQUIRE_EQUAL(p.x[i * n + k], raw.images.data()[item * n + k] * (1.0f / 255.0f));
        BOOST_REQUIRE_EQUAL(p.y[i], raw.labels(item));
    }
    // Images already divided by 255 with rescale 1/255 would be divided twice.
    const auto scaled = tn::load_image_set(test_data::kaggle_folder(), {.size = {8, 8, 3}, .log = nullptr});
    BOOST_CHECK_THROW(tn::ImageArraySource(scaled.images, scaled.labels), std::invalid_argument);
    BOOST_CHECK_NO_THROW(tn::ImageArraySource(scaled.images, scaled.labels, {.generator = {.rescale = 1}}));
}

BOOST_AUTO_TEST_CASE(augmentation_grid_is_written_as_png) {
    test_data::TempDir dir("grid");
    const fs::path png = dir.path() / "augmentation.png";
    const std::vector<fs::path> files{test_data::kaggle_folder() / "cat.3.jpg", test_data::kaggle_folder() / "dog.4.jpg"};
    chapter5::AugmentationGridOptions options;
    options.seed = 42;
    chapter5::write_augmentation_grid(files, chapter_augmentation, png, {60, 50, 3}, options);
    const cv::Mat grid = cv::imread(png.string());
    BOOST_REQUIRE(!grid.empty());
    const int m = options.margin, title = 22;
    BOOST_CHECK_EQUAL(grid.rows, m + 2 * (60 + title + m));
    BOOST_CHECK_EQUAL(grid.cols, m + 6 * (50 + m));
    // The first tile is the image as loaded (BGR on disk); the variants differ from it.
    const cv::Mat original = tn::read_image(files[0], {60, 50, 3});
    cv::Mat bgr;
    cv::cvtColor(original, bgr, cv::COLOR_RGB2BGR);
    BOOST_CHECK_EQUAL(cv::norm(grid(cv::Rect(m, m + title, 50, 60)), bgr, cv::NORM_INF), 0.0);
    for (int v = 1; v <= 5; ++v)
        BOOST_CHECK_GT(cv::norm(grid(cv::Rect(m + v * (50 + m), m + title, 50, 60)), bgr, cv::NORM_L1), 0.0);
    // Written atomically: no temporary left behind; a missing folder is a clear error.
    BOOST_CHECK_EQUAL(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
    BOOST_CHECK_THROW(chapter5::write_augmentation_grid(files, chapter_augmentation, dir.path() / "no" / "x.png", {60, 50, 3}),
                      std::runtime_error);
}

BOOST_AUTO_TEST_SUITE_END()
