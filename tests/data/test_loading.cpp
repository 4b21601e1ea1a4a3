// Image loading: Keras load_img parity, colour handling, broken files, folder listing and
// the in-memory image set.
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "synthetic_folder.hpp"
#include "typenet/core/shape.hpp"
#include "typenet/data/image_files.hpp"
#include "typenet/data/image_loading.hpp"
#include "typenet/data/image_set.hpp"

namespace tn = typenet;
namespace fs = std::filesystem;

namespace {
struct FakeModel {
    using input_shape = tn::Shape<28, 28, 1>;
};

// The class whose colour dominates an RGB image (0 red, 1 green, 2 blue).
int dominant_channel(const float* pixels, std::size_t count) {
    double sum[3] = {0, 0, 0};
    for (std::size_t i = 0; i < count; ++i) sum[i % 3] += pixels[i];
    return static_cast<int>(std::max_element(sum, sum + 3) - sum);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(loading)

BOOST_AUTO_TEST_CASE(input_size_comes_from_the_model_type) {
    constexpr auto rgb = tn::input_image_size<tn::Shape<150, 150, 3>>();
    static_assert(rgb.height == 150 && rgb.width == 150 && rgb.channels == 3);
    constexpr auto gray = tn::input_image_size<FakeModel>();
    static_assert(gray.height == 28 && gray.channels == 1);
    BOOST_CHECK_EQUAL(rgb.floats(), 150u * 150u * 3u);
}

BOOST_AUTO_TEST_CASE(load_img_parity_with_keras) {
    std::ifstream in(std::string(TYPENET_DATA_FIXTURES_DIR) + "/keras_load_img.json");
    BOOST_REQUIRE(in);
    const auto fixture = nlohmann::json::parse(in);
    for (const auto& c : fixture["cases"]) {
        const std::string file = c["file"], mode = c["color_mode"];
        const tn::ImageSize size{c["height"], c["width"], c["channels"]};
        BOOST_TEST_CONTEXT(file << " as " << mode << " " << size.height << "x" << size.width) {
            const cv::Mat image = tn::read_image(fs::path(TYPENET_DATA_FIXTURES_DIR) / file, size);
            BOOST_REQUIRE_EQUAL(image.rows, int(size.height));
            BOOST_REQUIRE_EQUAL(image.cols, int(size.width));
            BOOST_REQUIRE_EQUAL(image.channels(), int(size.channels));
            const std::vector<int> want = c["pixels"];
            // PIL's and OpenCV's RGB-to-gray weights round differently by at most one level.
            const int tolerance = mode == "grayscale" ? 1 : 0;
            int worst = 0;
            for (std::size_t i = 0; i < want.size(); ++i)
                worst = std::max(worst, std::abs(int(image.data[i]) - want[i]));
            BOOST_CHECK_LE(worst, tolerance);
        }
    }
}

BOOST_AUTO_TEST_CASE(colours_arrive_as_rgb_and_gray_as_asked) {
    test_data::TempDir dir("colours");
    // OpenCV writes BGR: this is a pure red picture.
    cv::Mat red(10, 12, CV_8UC3, cv::Scalar(0, 0, 255));
    cv::imwrite((dir.path() / "red.png").string(), red);
    cv::Mat rgba(10, 12, CV_8UC4, cv::Scalar(255, 0, 0, 0));  // blue, fully transparent
    cv::imwrite((dir.path() / "blue_alpha.png").string(), rgba);
    cv::Mat gray(10, 12, CV_8UC1, cv::Scalar(77));
    cv::imwrite((dir.path() / "gray.jpg").string(), gray);

    cv::Mat image = tn::read_image(dir.path() / "red.png", {10, 12, 3});
    BOOST_CHECK(image.at<cv::Vec3b>(3, 4) == cv::Vec3b(255, 0, 0));
    image = tn::read_image(dir.path() / "blue_alpha.png", {5, 6, 3});  // alpha dropped, as PIL's convert('RGB')
    BOOST_CHECK_EQUAL(image.channels(), 3);
    BOOST_CHECK(image.at<cv::Vec3b>(2, 2) == cv::Vec3b(0, 0, 255));
    image = tn::read_image(dir.path() / "gray.jpg", {10, 12, 3});  // gray into an RGB model
    BOOST_CHECK_EQUAL(image.channels(), 3);
    const auto px = image.at<cv::Vec3b>(5, 5);
    BOOST_CHECK(px[0] == px[1] && px[1] == px[2] && std::abs(int(px[0]) - 77) <= 2);
    image = tn::read_image(dir.path() / "red.png", {10, 12, 1});  // colour into a gray model
    BOOST_CHECK_EQUAL(image.channels(), 1);
    BOOST_CHECK_LE(std::abs(int(image.at<uchar>(1, 1)) - 76), 1);  // 0.299 * 255

    std::vector<float> floats(4 * 4 * 3);
    tn::read_image_into(dir.path() / "red.png", {4, 4, 3}, floats.data());
    BOOST_CHECK_EQUAL(floats[0], 1.0f);
    BOOST_CHECK_EQUAL(floats[1], 0.0f);
    BOOST_CHECK_THROW(tn::decode_image(dir.path() / "red.png", 2), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(broken_files_raise_a_reason_and_never_crash) {
    const fs::path folder = test_data::kaggle_folder();
    const std::vector<std::string> reasons{"truncated", "not an image", "empty"};
    for (std::size_t i = 0; i < 3; ++i) {
        const fs::path file = folder / test_data::broken_files()[i];
        const auto problem = tn::probe_image_file(file);
        BOOST_REQUIRE_MESSAGE(problem.has_value(), file << " passed the probe");
        BOOST_CHECK_MESSAGE(problem->find(reasons[i]) != std::string::npos, *problem);
        try {
            tn::read_image(file, {32, 32, 3});
            BOOST_ERROR(file << " was read");
        } catch (const tn::ImageReadError& e) {
            BOOST_CHECK(e.file() == file);
            BOOST_CHECK(std::string(e.what()).find(file.filename().string()) != std::string::npos);
            BOOST_CHECK_MESSAGE(e.reason().find(reasons[i]) != std::string::npos, e.reason());
        }
    }
    BOOST_CHECK(!tn::probe_image_file(folder / "cat.0.jpg"));
    BOOST_CHECK_THROW(tn::read_image(folder / "no-such-file.jpg", {8, 8, 3}), tn::ImageReadError);
}

BOOST_AUTO_TEST_CASE(jpeg_completeness_is_judged_by_its_segments) {
    test_data::TempDir dir("jpeg-ends");
    std::vector<uchar> jpeg;
    cv::imencode(".jpg", test_data::make_picture("dog", 3, 64, 80), jpeg);
    auto write = [&](const std::string& name, const std::vector<uchar>& bytes) {
        std::ofstream(dir.path() / name, std::ios::binary)
            .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        return dir.path() / name;
    };
    // Cut anywhere (in the headers, in the scan, just before the end marker): truncated.
    for (std::size_t keep : {std::size_t{20}, jpeg.size() / 3, jpeg.size() - 2, jpeg.size() - 1}) {
        const auto file = write("cut.jpg", std::vector<uchar>(jpeg.begin(), jpeg.begin() + keep));
        BOOST_CHECK_MESSAGE(tn::probe_image_file(file).has_value(), "cut at " << keep << " passed the probe");
        BOOST_CHECK_THROW(tn::read_image(file, {16, 16, 3}), tn::ImageReadError);
    }
    // Data appended after the image (as some cameras do), with marker-like bytes in it: fine.
    std::vector<uchar> appended = jpeg;
    for (int i = 0; i < 5000; ++i) appended.insert(appended.end(), {0xFF, 0xDA, 0x00, 0x07, 0xFF, 0xD8, 0x12});
    const auto file = write("appended.jpg", appended);
    BOOST_CHECK(!tn::probe_image_file(file));
    BOOST_CHECK_EQUAL(tn::read_image(file, {64, 80, 3}).cols, 80);
}

BOOST_AUTO_TEST_CASE(listing_sorts_files_and_labels_by_prefix) {
    BOOST_CHECK_EQUAL(tn::class_of("dog.7.jpg"), "dog");
    BOOST_CHECK_EQUAL(tn::class_of(fs::path("a/b/cat.12.jpeg")), "cat");
    BOOST_CHECK(tn::is_image_file_name("x.JPG") && !tn::is_image_file_name("notes.txt"));

    const auto files = tn::list_image_files(test_data::kaggle_folder());
    BOOST_CHECK_EQUAL(files.size(), test_data::good_files + 3);  // notes.txt is not listed
    BOOST_CHECK(files.classes == (std::vector<std::string>{"cat", "dog", "fox"}));
    for (std::size_t i = 1; i < files.size(); ++i)
        BOOST_REQUIRE(files.paths[i - 1].filename().native() < files.paths[i].filename().native());
    for (std::size_t i = 0; i < files.size(); ++i)
        BOOST_REQUIRE_EQUAL(files.classes[files.labels[i]], tn::class_of(files.paths[i]));
    const auto counts = files.class_counts();
    BOOST_CHECK_EQUAL(counts[0], 131u);  // 130 + the truncated cat
    BOOST_CHECK_EQUAL(counts[1], 121u);
    BOOST_CHECK_EQUAL(counts[2], 106u);

    // A given class list fixes the indices and leaves other classes out.
    const auto two = tn::list_image_files(test_data::kaggle_folder(), {"dog", "cat"});
    BOOST_CHECK_EQUAL(two.size(), 131u + 121u);
    BOOST_CHECK_EQUAL(two.labels.front(), 1u);  // cat.0.jpg comes first and is class 1 here
    BOOST_CHECK_THROW(tn::list_image_files(test_data::kaggle_folder() / "missing"), std::runtime_error);
    BOOST_CHECK_THROW(tn::list_image_files(test_data::kaggle_folder(), {"cat", "cat"}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(image_set_loads_a_folder_and_counts_skipped_files) {
    std::ostringstream log;
    const auto set = tn::load_image_set(test_data::kaggle_folder(), {.size = {32, 40, 3}, .log = &log});
    BOOST_CHECK_EQUAL(set.size(), test_data::good_files);
    BOOST_CHECK_EQUAL(set.skipped(), 3u);
    BOOST_CHECK(set.images.shape() == (std::array<std::size_t, 4>{test_data::good_files, 32, 40, 3}));
    BOOST_CHECK_EQUAL(set.labels.size(), test_data::good_files);
    BOOST_CHECK_GE(*std::min_element(set.images.begin(), set.images.end()), 0.0f);
    BOOST_CHECK_LE(*std::max_element(set.images.begin(), set.images.end()), 1.0f);
    // One warning per broken file and a count at the end.
    const std::string text = log.str();
    for (const auto& name : test_data::broken_files())
        BOOST_CHECK_MESSAGE(text.find(name) != std::string::npos, "no warning for " << name);
    BOOST_CHECK(text.find("3 of " + std::to_string(test_data::good_files + 3)) != std::string::npos);
    // Labels follow the prefixes, and the pictures agree with them.
    const std::size_t per_image = 32 * 40 * 3;
    for (std::size_t i = 0; i < set.size(); ++i) {
        const std::string cls = tn::class_of(set.files[i]);
        BOOST_REQUIRE_EQUAL(set.classes[static_cast<std::size_t>(set.labels(i))], cls);
        BOOST_REQUIRE_EQUAL(dominant_channel(set.images.data() + i * per_image, per_image),
                            test_data::class_channel().at(cls));
    }
    // Raw pixels and gray models.
    const auto raw = tn::load_image_set(test_data::kaggle_folder(), {.size = {16, 16, 1}, .rescale = 1, .log = nullptr});
    BOOST_CHECK_EQUAL(raw.images.shape()[3], 1u);
    BOOST_CHECK_GT(*std::max_element(raw.images.begin(), raw.images.end()), 100.0f);
}

BOOST_AUTO_TEST_CASE(a_folder_of_only_broken_files_is_an_error_naming_it) {
    test_data::TempDir dir("all-broken");
    std::ofstream(dir.path() / "cat.1.jpg") << "text";
    std::ofstream(dir.path() / "dog.1.jpg").flush();
    try {
        tn::load_image_set(dir.path(), {.log = nullptr});
        BOOST_ERROR("an unreadable folder loaded");
    } catch (const std::runtime_error& e) {
        BOOST_CHECK(std::string(e.what()).find(dir.path().string()) != std::string::npos);
    }
    test_data::TempDir empty("empty");
    BOOST_CHECK_THROW(tn::load_image_set(empty.path(), {.log = nullptr}), std::runtime_error);
}

BOOST_AUTO_TEST_SUITE_END()
