// Hostile image files (issue 16): sizes are refused from the header before decoding,
// a JPEG without scan data is damaged, a valid very wide PNG no longer crashes the
// nearest resize, and a folder holding such files skips each with one line. Every
// reader runs in a fresh child process, which must end with an error (not a signal)
// and stay under 256 MB at its peak.
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "child_process.hpp"
#include "synthetic_folder.hpp"
#include "typenet/data/image_folder_source.hpp"
#include "typenet/data/image_loading.hpp"

namespace tn = typenet;
namespace fs = std::filesystem;
using typenet_test::run_in_child;

namespace {

constexpr double memory_bound = typenet_test::memory_bound_mb(256.0);

std::vector<std::uint8_t> encode(const std::string& extension, const cv::Mat& image) {
    std::vector<std::uint8_t> bytes;
    BOOST_REQUIRE(cv::imencode(extension, image, bytes));
    return bytes;
}

void write(const fs::path& file, const std::vector<std::uint8_t>& bytes) {
    std::ofstream(file, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// The offset of the first marker `code` (FF code) in a JPEG's header segments.
std::size_t jpeg_marker(const std::vector<std::uint8_t>& jpeg, std::uint8_t code) {
    std::size_t i = 2;
    while (i + 4 <= jpeg.size()) {
        BOOST_REQUIRE(jpeg[i] == 0xFF);
        if (jpeg[i + 1] == code) return i;
        i += 2 + ((std::size_t{jpeg[i + 2]} << 8) | jpeg[i + 3]);
    }
    BOOST_FAIL("marker not found");
    return 0;
}

// A real JPEG whose frame header claims height x width.
std::vector<std::uint8_t> jpeg_claiming(std::uint16_t height, std::uint16_t width, bool with_scan) {
    auto jpeg = encode(".jpg", test_data::make_picture("dog", 1, 16, 16));
    const std::size_t sof = jpeg_marker(jpeg, 0xC0);
    jpeg[sof + 5] = static_cast<std::uint8_t>(height >> 8);
    jpeg[sof + 6] = static_cast<std::uint8_t>(height & 0xff);
    jpeg[sof + 7] = static_cast<std::uint8_t>(width >> 8);
    jpeg[sof + 8] = static_cast<std::uint8_t>(width & 0xff);
    if (!with_scan) {  // the headers, then straight to the end-of-image marker
        jpeg.resize(jpeg_marker(jpeg, 0xDA));
        jpeg.insert(jpeg.end(), {0xFF, 0xD9});
    }
    return jpeg;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

void check_refused(const fs::path& file, const std::string& reason) {
    const auto problem = tn::probe_image_file(file);
    BOOST_TEST_INFO(file.filename() << ": probe says " << problem.value_or("(fine)"));
    BOOST_TEST((problem && contains(*problem, reason)));
    const auto outcome = run_in_child([&] { tn::read_image(file, {150, 150, 3}); });
    BOOST_TEST_INFO(file.filename() << ": " << outcome.describe() << ", peak " << outcome.peak_rss_mb() << " MB");
    BOOST_TEST(outcome.signal == 0);
    BOOST_TEST(outcome.threw);
    BOOST_TEST(contains(outcome.message, file.string()));
    BOOST_TEST(contains(outcome.message, reason));
    BOOST_TEST(outcome.added_mb() < memory_bound);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hostile_images)

BOOST_AUTO_TEST_CASE(a_jpeg_claiming_32768_squared_is_refused_before_decoding) {
    test_data::TempDir dir("hostile-images");
    const auto file = dir.path() / "huge.jpg";
    write(file, jpeg_claiming(32768, 32768, true));
    BOOST_TEST(fs::file_size(file) < 1000u);
    check_refused(file, "over the limit");
}

BOOST_AUTO_TEST_CASE(a_jpeg_without_scan_data_is_damaged) {
    test_data::TempDir dir("hostile-images");
    const auto small = dir.path() / "no_scan.jpg";
    write(small, jpeg_claiming(64, 80, false));
    check_refused(small, "no scan data");
    // 16384 x 16384 without scan data: refused too (whichever check speaks first).
    const auto big = dir.path() / "no_scan_big.jpg";
    write(big, jpeg_claiming(16384, 16384, false));
    BOOST_TEST(tn::probe_image_file(big).has_value());
    const auto outcome = run_in_child([&] { tn::read_image(big, {150, 150, 3}); });
    BOOST_TEST(outcome.threw);
    BOOST_TEST(outcome.added_mb() < memory_bound);
}

BOOST_AUTO_TEST_CASE(a_jpeg_header_behind_large_metadata_is_still_found) {
    // The probe reads 4 KiB, then 256 KiB, then the whole file: the frame header after
    // 10 KiB or 325 KiB of APP2 segments (as big EXIF/ICC blocks are) is found either way.
    test_data::TempDir dir("hostile-images");
    for (const int segments : {1, 5}) {
        for (const bool huge : {false, true}) {
            auto jpeg = huge ? jpeg_claiming(32768, 32768, true) : encode(".jpg", test_data::make_picture("cat", 3, 20, 24));
            std::vector<std::uint8_t> metadata;
            for (int k = 0; k < segments; ++k) {
                const std::size_t length = segments == 1 ? 10'000 : 65'000;
                metadata.insert(metadata.end(), {0xFF, 0xE2, static_cast<std::uint8_t>(length >> 8),
                                                 static_cast<std::uint8_t>(length & 0xff)});
                metadata.insert(metadata.end(), length - 2, 0x5A);
            }
            jpeg.insert(jpeg.begin() + 2, metadata.begin(), metadata.end());
            const auto file = dir.path() / ("metadata_" + std::to_string(segments) + (huge ? "_huge.jpg" : ".jpg"));
            write(file, jpeg);
            BOOST_TEST_CONTEXT(file.filename() << ", " << jpeg.size() << " bytes") {
                if (huge) {
                    check_refused(file, "over the limit");
                } else {
                    BOOST_TEST(!tn::probe_image_file(file).has_value());
                    BOOST_TEST(tn::read_image(file, {20, 24, 3}).cols == 24);
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(png_bmp_and_pnm_headers_are_checked_against_the_limit) {
    test_data::TempDir dir("hostile-images");
    const cv::Mat picture = test_data::make_picture("cat", 2, 40, 30);
    for (const std::string extension : {".png", ".bmp", ".ppm", ".tiff", ".webp"}) {
        const auto file = dir.path() / ("picture" + extension);
        cv::Mat bgr;
        cv::cvtColor(picture, bgr, cv::COLOR_RGB2BGR);
        write(file, encode(extension, bgr));
        BOOST_TEST_CONTEXT(extension) {
            BOOST_TEST(!tn::probe_image_file(file).has_value());
            BOOST_TEST(tn::read_image(file, {40, 30, 3}).cols == 30);
            // The header's 40 x 30 = 1200 pixels against a lowered limit.
            tn::set_max_image_pixels(1199);
            check_refused(file, "30x40 pixels, over the limit of 1199");
            tn::set_max_image_pixels(1200);
            BOOST_TEST(!tn::probe_image_file(file).has_value());
            tn::set_max_image_pixels(tn::default_max_image_pixels);
        }
    }
    // A PNG whose IHDR claims 100000 x 100000 (the rest of the file as it was).
    auto png = encode(".png", picture);
    for (int at : {16, 20}) {
        png[at] = 0x00, png[at + 1] = 0x01, png[at + 2] = 0x86, png[at + 3] = 0xA0;
    }
    const auto huge = dir.path() / "huge.png";
    write(huge, png);
    check_refused(huge, "100000x100000 pixels, over the limit");
}

BOOST_AUTO_TEST_CASE(a_valid_png_of_32768_by_8_resizes_without_crashing) {
    test_data::TempDir dir("hostile-images");
    cv::Mat wide(8, 32768, CV_8UC3);
    for (int y = 0; y < wide.rows; ++y)
        for (int x = 0; x < wide.cols; ++x) wide.at<cv::Vec3b>(y, x) = {std::uint8_t(x % 251), std::uint8_t(x / 251), std::uint8_t(y)};
    const auto file = dir.path() / "wide.png";
    write(file, encode(".png", wide));
    BOOST_TEST(!tn::probe_image_file(file).has_value());
    const auto outcome = run_in_child([&] {
        const cv::Mat image = tn::read_image(file, {150, 150, 3});
        if (image.rows != 150 || image.cols != 150) throw std::runtime_error("wrong size");
    });
    BOOST_TEST_INFO(outcome.describe());
    BOOST_TEST(outcome.returned);
    BOOST_TEST(outcome.added_mb() < memory_bound);
    // The pixels are the ones the exact nearest rule picks (RGB: the file held BGR).
    const cv::Mat image = tn::read_image(file, {150, 150, 3});
    for (int x : {0, 1, 75, 149}) {
        const int source = tn::detail::nearest_exact_source(32768, 150, x);
        const auto pixel = image.at<cv::Vec3b>(0, x);
        BOOST_TEST(pixel[2] == source % 251);
        BOOST_TEST(pixel[1] == source / 251);
    }
}

BOOST_AUTO_TEST_CASE(the_wide_nearest_resize_picks_what_opencv_picks) {
    // Where OpenCV's INTER_NEAREST_EXACT works (sides below 32768), ours must agree exactly.
    std::mt19937 rng(16);
    for (int trial = 0; trial < 200; ++trial) {
        const cv::Size from(1 + static_cast<int>(rng() % 900), 1 + static_cast<int>(rng() % 60));
        const cv::Size to(1 + static_cast<int>(rng() % 400), 1 + static_cast<int>(rng() % 90));
        cv::Mat source(from, CV_8UC3);
        cv::randu(source, 0, 256);
        cv::Mat theirs, ours;
        cv::resize(source, theirs, to, 0, 0, cv::INTER_NEAREST_EXACT);
        tn::detail::resize_nearest_exact(source, ours, to);
        BOOST_TEST_INFO(from << " -> " << to);
        BOOST_TEST(cv::norm(theirs, ours, cv::NORM_INF) == 0.0);
    }
}

BOOST_AUTO_TEST_CASE(a_folder_with_hostile_files_skips_each_with_a_line) {
    test_data::TempDir dir("hostile-folder");
    const fs::path folder = dir.path() / "train";
    fs::create_directories(folder);
    for (int n = 0; n < 4; ++n) {
        test_data::write_rgb_jpeg(folder / ("cat." + std::to_string(n) + ".jpg"), test_data::make_picture("cat", n, 32, 32));
        test_data::write_rgb_jpeg(folder / ("dog." + std::to_string(n) + ".jpg"), test_data::make_picture("dog", n, 32, 32));
    }
    write(folder / "cat.100.jpg", jpeg_claiming(32768, 32768, true));
    write(folder / "dog.100.jpg", jpeg_claiming(64, 64, false));
    cv::Mat wide(8, 32768, CV_8UC3, cv::Scalar(0, 0, 200));
    write(folder / "dog.101.png", encode(".png", wide));  // valid: read, not skipped

    std::ostringstream log;
    tn::ImageFolderOptions options;
    options.size = {24, 24, 3};
    options.workers = 1;
    options.log = &log;
    tn::ImageFolderSource source(folder, options);
    BOOST_TEST(source.skipped() == 2u);
    BOOST_TEST(source.size() == 9u);
    const std::string text = log.str();
    BOOST_TEST(contains(text, "skipping " + (folder / "cat.100.jpg").string() + ": the header claims 32768x32768"));
    BOOST_TEST(contains(text, "skipping " + (folder / "dog.100.jpg").string() + ": damaged JPEG: no scan data"));
    std::vector<float> x(9 * options.size.floats()), y(9);
    std::size_t got = 0;
    source.start_epoch(0);
    while (std::size_t n = source.next_batch(x.data(), y.data(), 4)) got += n;
    BOOST_TEST(got == 9u);
}

BOOST_AUTO_TEST_SUITE_END()
