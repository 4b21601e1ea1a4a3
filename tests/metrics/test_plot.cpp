// Plots: each figure is written as a PNG of the expected size, reads back identical, and
// has its content where the layout says: series colours at data points, the ROC diagonal,
// legend entries, heat-map shades, image pixels. Files go to a temporary directory.
#include <boost/test/unit_test.hpp>

#include "scratch_directory.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "typenet/metrics/confusion_matrix.hpp"
#include "typenet/metrics/roc.hpp"
#include "typenet/plot/colormap.hpp"
#include "typenet/plot/confusion_matrix.hpp"
#include "typenet/plot/feature_map.hpp"
#include "typenet/plot/image_grid.hpp"
#include "typenet/plot/learning_curves.hpp"
#include "typenet/plot/png_file.hpp"
#include "typenet/plot/roc_curve.hpp"

namespace tn = typenet;
namespace fs = std::filesystem;

namespace {

using TempDir = typenet_test::ScratchDirectory;

int colour_distance(const cv::Vec3b& pixel, const cv::Scalar& colour) {
    int worst = 0;
    for (int k = 0; k < 3; ++k) worst = std::max(worst, std::abs(pixel[k] - static_cast<int>(std::lround(colour[k]))));
    return worst;
}

cv::Vec3b pixel_at(const cv::Mat& image, cv::Point2d p) {
    return image.at<cv::Vec3b>(static_cast<int>(std::lround(p.y)), static_cast<int>(std::lround(p.x)));
}

// Pixels within `radius` of `p` whose colour is within `tolerance` of `colour`.
int count_near(const cv::Mat& image, cv::Point2d p, int radius, const cv::Scalar& colour, int tolerance) {
    int found = 0;
    for (int dy = -radius; dy <= radius; ++dy)
        for (int dx = -radius; dx <= radius; ++dx) {
            const cv::Point q(static_cast<int>(std::lround(p.x)) + dx, static_cast<int>(std::lround(p.y)) + dy);
            if (q.inside(cv::Rect(0, 0, image.cols, image.rows)) &&
                colour_distance(image.at<cv::Vec3b>(q), colour) <= tolerance)
                ++found;
        }
    return found;
}

int count_in_box(const cv::Mat& image, const cv::Rect2d& box, const cv::Scalar& colour, int tolerance) {
    int found = 0;
    const cv::Rect inside = cv::Rect(box) & cv::Rect(0, 0, image.cols, image.rows);
    for (int y = inside.y; y < inside.y + inside.height; ++y)
        for (int x = inside.x; x < inside.x + inside.width; ++x)
            found += colour_distance(image.at<cv::Vec3b>(y, x), colour) <= tolerance;
    return found;
}

// Where a colour shows and how many of its pixels the box holds (a filled rectangle: its area).
struct ColourRegion {
    cv::Rect box;
    int count = 0;
};

// The largest connected patch of pixels within `tolerance` of `colour` (other patches of
// the same colour, a colour bar's end for one, do not widen it).
cv::Rect largest_patch_of(const cv::Mat& image, const cv::Scalar& colour, int tolerance) {
    cv::Mat mask(image.rows, image.cols, CV_8U);
    for (int y = 0; y < image.rows; ++y)
        for (int x = 0; x < image.cols; ++x)
            mask.at<std::uint8_t>(y, x) = colour_distance(image.at<cv::Vec3b>(y, x), colour) <= tolerance ? 255 : 0;
    cv::Mat labels, stats, centroids;
    const int n = cv::connectedComponentsWithStats(mask, labels, stats, centroids, 8);
    int best = 0;
    for (int k = 1; k < n; ++k)
        if (best == 0 || stats.at<int>(k, cv::CC_STAT_AREA) > stats.at<int>(best, cv::CC_STAT_AREA)) best = k;
    if (best == 0) return {};
    return {stats.at<int>(best, cv::CC_STAT_LEFT), stats.at<int>(best, cv::CC_STAT_TOP),
            stats.at<int>(best, cv::CC_STAT_WIDTH), stats.at<int>(best, cv::CC_STAT_HEIGHT)};
}

int non_white_in_box(const cv::Mat& image, const cv::Rect2d& box) {
    return static_cast<int>(cv::Rect(box).area()) - count_in_box(image, box, tn::plotting::white, 10);
}

// The PNG on disk decodes to exactly the figure's image.
cv::Mat read_back(const fs::path& path, const tn::Figure& figure) {
    const cv::Mat decoded = cv::imread(path.string(), cv::IMREAD_COLOR);
    BOOST_TEST_REQUIRE(!decoded.empty(), "cannot read " << path);
    BOOST_TEST_REQUIRE(decoded.size() == figure.image.size());
    BOOST_TEST(cv::norm(decoded, figure.image, cv::NORM_INF) == 0.0);
    return decoded;
}

std::vector<fs::path> files_in(const fs::path& dir) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path().filename());
    return files;
}

// The reference colours, BGR, from matplotlib's own tables (not from typenet's): tab10's
// first two, and the ends of "Blues" and "viridis".
namespace matplotlib {
const cv::Scalar tab10_blue{180, 119, 31};     // #1f77b4
const cv::Scalar tab10_orange{14, 127, 255};   // #ff7f0e
const cv::Scalar blues_low{255, 251, 247};     // #f7fbff
const cv::Scalar blues_high{107, 48, 8};       // #08306b
const cv::Scalar viridis_low{84, 1, 68};       // #440154
const cv::Scalar viridis_high{37, 231, 253};   // #fde725
// "Blues" at t: linear between its nine colorbrewer stops (matplotlib's _Blues_data).
cv::Scalar blues(double t) {
    static const double rgb[9][3] = {{247, 251, 255}, {222, 235, 247}, {198, 219, 239}, {158, 202, 225}, {107, 174, 214},
                                     {66, 146, 198},  {33, 113, 181},  {8, 81, 156},    {8, 48, 107}};
    const double at = t * 8;
    const int k = std::min(7, static_cast<int>(at));
    const double f = at - k;
    return {rgb[k][2] + f * (rgb[k + 1][2] - rgb[k][2]), rgb[k][1] + f * (rgb[k + 1][1] - rgb[k][1]),
            rgb[k][0] + f * (rgb[k + 1][0] - rgb[k][0])};
}
}  // namespace matplotlib

// The frame of a panel as the image shows it: the columns and rows inside `region` that
// the frame's dark lines run along (the longest dark runs), found from the pixels alone.
cv::Rect2d detect_frame(const cv::Mat& image, const cv::Rect& region) {
    const auto dark = [&](int y, int x) {
        const cv::Vec3b p = image.at<cv::Vec3b>(y, x);
        return p[0] < 170 && std::abs(p[0] - p[1]) < 12 && std::abs(p[1] - p[2]) < 12;  // grey, not the light grid
    };
    std::vector<int> columns(region.width, 0), rows(region.height, 0);
    for (int y = 0; y < region.height; ++y)
        for (int x = 0; x < region.width; ++x)
            if (dark(region.y + y, region.x + x)) ++columns[x], ++rows[y];
    const auto ends = [](const std::vector<int>& counts) {
        const int most = *std::max_element(counts.begin(), counts.end());
        int first = -1, last = -1;
        for (int i = 0; i < static_cast<int>(counts.size()); ++i)
            if (counts[i] >= most * 9 / 10) {
                if (first < 0) first = i;
                last = i;
            }
        return std::pair{first, last};
    };
    const auto [left, right] = ends(columns);
    const auto [top, bottom] = ends(rows);
    return {double(region.x + left), double(region.y + top), double(right - left), double(bottom - top)};
}

// Data to pixels inside a detected frame, with limits the test works out from the data.
struct Mapping {
    cv::Rect2d frame;
    double x_min, x_max, y_min, y_max;
    cv::Point2d at(double x, double y) const {
        return {frame.x + (x - x_min) / (x_max - x_min) * frame.width,
                frame.y + frame.height - (y - y_min) / (y_max - y_min) * frame.height};
    }
};

tn::HistoryColumns sample_history(int epochs) {
    tn::HistoryColumns history;
    std::vector<double> acc, val_acc, loss, val_loss;
    for (int e = 1; e <= epochs; ++e) {
        history.epochs.push_back(e);
        acc.push_back(0.5 + 0.45 * e / epochs);  // rises to 0.95
        val_acc.push_back(0.55);                 // flat, well below at the end
        loss.push_back(1.0 - 0.8 * e / epochs);
        val_loss.push_back(1.2);
    }
    history.series = {{"accuracy", acc}, {"val_accuracy", val_acc}, {"loss", loss}, {"val_loss", val_loss}};
    return history;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(plots)

BOOST_AUTO_TEST_CASE(learning_curves_two_panels_with_series_at_their_data) {
    TempDir dir;
    const auto history = sample_history(30);
    const fs::path path = dir.path() / "history.png";
    const auto figure = tn::plot_learning_curves(history, path, "Basic CNN Performance");
    const cv::Mat image = read_back(path, figure);
    BOOST_TEST(image.cols >= 900);
    BOOST_TEST(image.rows >= 450);
    BOOST_TEST_REQUIRE(figure.axes.size() == 2u);
    BOOST_TEST(figure.axes[0].area.x + figure.axes[0].area.width < figure.axes[1].area.x);  // side by side

    const auto train = matplotlib::tab10_blue, validation = matplotlib::tab10_orange;
    // The panels' frames, found in the pixels, each in its half of the image; the limits:
    // the epochs 1..30 widened by 3% of their span, the values by 6% of theirs (accuracy
    // 0.515..0.95, loss 0.2..1.2), as the layout promises.
    const cv::Rect2d left_frame = detect_frame(image, {0, 0, image.cols / 2, image.rows});
    const cv::Rect2d right_frame = detect_frame(image, {image.cols / 2, 0, image.cols - image.cols / 2, image.rows});
    const double x_pad = 29 * 0.03, acc_pad = (0.95 - 0.515) * 0.06, loss_pad = (1.2 - 0.2) * 0.06;
    const Mapping accuracy{left_frame, 1 - x_pad, 30 + x_pad, 0.515 - acc_pad, 0.95 + acc_pad};
    const Mapping loss{right_frame, 1 - x_pad, 30 + x_pad, 0.2 - loss_pad, 1.2 + loss_pad};
    BOOST_TEST(left_frame.width > 300);
    BOOST_TEST(left_frame.height > 250);
    BOOST_TEST(std::abs(left_frame.width - right_frame.width) <= 2);  // two panels alike
    // The library's own idea of the frames agrees with the pixels.
    BOOST_TEST(std::abs(figure.axes[0].area.x - left_frame.x) <= 1.5);
    BOOST_TEST(std::abs(figure.axes[1].area.width - right_frame.width) <= 2);
    // Epoch 20: train accuracy 0.8, validation 0.55; train loss 1 - 0.8 * 20/30.
    BOOST_TEST(count_near(image, accuracy.at(20, 0.8), 2, train, 40) > 0);
    BOOST_TEST(count_near(image, accuracy.at(20, 0.55), 2, validation, 40) > 0);
    BOOST_TEST(count_near(image, loss.at(20, 1.0 - 0.8 * 20 / 30), 2, train, 40) > 0);
    BOOST_TEST(count_near(image, loss.at(20, 1.2), 2, validation, 40) > 0);
    // Half-way between two epochs the line is still there (drawn, not just dots).
    BOOST_TEST(count_near(image, accuracy.at(20.5, 0.55), 2, validation, 40) > 0);
    // Away from any series: white background inside the panel; and no series where a
    // wrong mapping would put it (the train accuracy of epoch 20 at the validation's height).
    BOOST_TEST(colour_distance(pixel_at(image, accuracy.at(22.5, 0.68)), tn::plotting::white) <= 10);
    BOOST_TEST(count_near(image, accuracy.at(20, 0.65), 2, train, 40) == 0);

    // Legends hold both colours, and do not sit on the data.
    BOOST_TEST_REQUIRE(figure.legends.size() == 2u);
    for (const auto& box : figure.legends) {
        BOOST_TEST(count_in_box(image, box, train, 30) > 20);
        BOOST_TEST(count_in_box(image, box, validation, 30) > 20);
        BOOST_TEST(non_white_in_box(image, box) > 200);  // the label text
    }
    BOOST_TEST(!figure.legends[0].contains(accuracy.at(20, 0.8)));
    // The title row has text.
    BOOST_TEST(non_white_in_box(image, {image.cols / 2.0 - 100, 10, 200, 30}) > 100);
    BOOST_TEST(files_in(dir.path()) == std::vector<fs::path>{"history.png"}, "temporary files left behind");
}

BOOST_AUTO_TEST_CASE(learning_curves_accept_keras_2_names_and_loss_only) {
    TempDir dir;
    auto history = sample_history(5);
    history.series[0].name = "acc";
    history.series[1].name = "val_acc";
    const auto figure = tn::plot_learning_curves(history, dir.path() / "old_names.png", "t");
    BOOST_TEST(figure.axes.size() == 2u);

    tn::HistoryColumns loss_only{{1, 2, 3}, {{"loss", {0.9, 0.5, 0.3}}}};
    const auto single = tn::plot_learning_curves(loss_only, dir.path() / "loss.png", "t");
    BOOST_TEST(single.axes.size() == 1u);
    BOOST_TEST(
        colour_distance(pixel_at(single.image, single.axes[0].to_pixel(2, 0.5)), matplotlib::tab10_blue) <= 40);
}

BOOST_AUTO_TEST_CASE(learning_curves_reject_bad_history) {
    TempDir dir;
    auto history = sample_history(4);
    history.series[3].values.pop_back();
    try {
        tn::plot_learning_curves(history, dir.path() / "bad.png", "t");
        BOOST_FAIL("a short column was accepted");
    } catch (const std::invalid_argument& error) {
        BOOST_TEST(std::string(error.what()).find("'val_loss' has 3 values for 4 epochs") != std::string::npos);
    }
    const tn::HistoryColumns unknown{{1}, {{"lr", {0.1}}}};
    BOOST_CHECK_THROW(tn::plot_learning_curves(unknown, dir.path() / "bad.png", "t"), std::invalid_argument);
    BOOST_TEST(files_in(dir.path()).empty());
}

BOOST_AUTO_TEST_CASE(writes_are_atomic_and_errors_name_the_path) {
    TempDir dir;
    const fs::path path = dir.path() / "figure.png";
    const cv::Mat red(30, 40, CV_8UC3, cv::Scalar(0, 0, 255));
    tn::write_png(red, path);
    const cv::Mat blue(20, 10, CV_8UC3, cv::Scalar(255, 0, 0));
    tn::write_png(blue, path);  // replaces the file
    const cv::Mat back = cv::imread(path.string());
    BOOST_TEST(back.size() == blue.size());
    BOOST_TEST(files_in(dir.path()) == std::vector<fs::path>{"figure.png"});

    const fs::path missing = dir.path() / "no_such_dir" / "figure.png";
    try {
        tn::write_png(red, missing);
        BOOST_FAIL("writing into a missing directory succeeded");
    } catch (const std::runtime_error& error) {
        BOOST_TEST(std::string(error.what()).find(missing.string()) != std::string::npos);
    }
    BOOST_CHECK_THROW(tn::write_png(red, dir.path() / "figure.jpg"), std::runtime_error);
    // A failed write leaves the earlier file as it was.
    BOOST_CHECK_THROW(tn::write_png(cv::Mat(), path), std::runtime_error);
    BOOST_TEST(cv::imread(path.string()).size() == blue.size());
}

BOOST_AUTO_TEST_CASE(confusion_matrix_heat_map) {
    TempDir dir;
    const tn::ConfusionMatrix matrix{{0, 1}, {"cat", "dog"}, {385, 115, 0, 402}};
    const fs::path path = dir.path() / "confusion.png";
    const auto figure = tn::plot_confusion_matrix(matrix, path, "Confusion Matrix");
    const cv::Mat image = read_back(path, figure);
    const auto& cells = figure.axes.at(0);
    // The cells from the pixels alone: the largest count (row 1, column 1) is the only cell
    // in Blues' darkest colour, so its box is one cell; the others sit beside it.
    const cv::Rect cell_box = largest_patch_of(image, matplotlib::blues_high, 3);
    BOOST_TEST_REQUIRE(cell_box.area() > 1000);
    BOOST_TEST(std::abs(cell_box.width - cell_box.height) <= 2);  // square cells
    BOOST_TEST(std::abs(cell_box.x - (cells.area.x + cells.area.width / 2)) <= 2);  // the library agrees
    // Corners of cells (away from the written count): shade by count.
    const auto corner_of = [&](int row, int column) {
        return cv::Point2d(cell_box.x + (column - 1 + 0.1) * cell_box.width,
                           cell_box.y + (row - 1 + 0.1) * cell_box.height);
    };
    BOOST_TEST(colour_distance(pixel_at(image, corner_of(1, 1)), matplotlib::blues_high) <= 3);  // the largest count
    BOOST_TEST(colour_distance(pixel_at(image, corner_of(1, 0)), matplotlib::blues_low) <= 3);   // zero
    BOOST_TEST(colour_distance(pixel_at(image, corner_of(0, 1)), matplotlib::blues(115.0 / 402)) <= 3);
    BOOST_TEST(colour_distance(pixel_at(image, corner_of(0, 0)), matplotlib::blues(385.0 / 402)) <= 3);
    // The counts are written: white digits on the dark cell, dark digits on the light one.
    const double cell = cell_box.width;
    const auto centre_box = [&](int row, int column) {
        const cv::Point2d c(cell_box.x + (column - 0.5) * cell_box.width, cell_box.y + (row - 0.5) * cell_box.height);
        return cv::Rect2d(c.x - cell / 4, c.y - cell / 6, cell / 2, cell / 3);
    };
    BOOST_TEST(count_in_box(image, centre_box(1, 1), tn::plotting::white, 30) > 50);
    BOOST_TEST(count_in_box(image, centre_box(0, 1), tn::plotting::black, 60) > 50);
    // Axis titles: "Actual" left of the row names, "Predicted" under the column names.
    BOOST_TEST(non_white_in_box(image, {0, cells.area.y, cells.area.x - 45, cells.area.height}) > 100);
    BOOST_TEST(non_white_in_box(image, {cells.area.x, cells.area.y + cells.area.height + 40, cells.area.width,
                                        image.rows - (cells.area.y + cells.area.height + 40)}) > 100);
    // The colour bar runs from white to dark blue.
    const auto& bar = figure.legends.at(0);
    BOOST_TEST(colour_distance(pixel_at(image, {bar.x + bar.width / 2, bar.y + 3}), matplotlib::blues_high) <= 10);
    BOOST_TEST(colour_distance(pixel_at(image, {bar.x + bar.width / 2, bar.y + bar.height - 3}),
                               matplotlib::blues_low) <= 10);

    const tn::ConfusionMatrix broken{{0, 1}, {"cat"}, {1, 2, 3, 4}};
    BOOST_CHECK_THROW(tn::plot_confusion_matrix(broken, dir.path() / "broken.png"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(roc_curve_with_diagonal_and_legend) {
    TempDir dir;
    const std::vector<int> y_true{0, 0, 1, 1, 0, 1};
    const std::vector<float> scores{0.1f, 0.4f, 0.4f, 0.8f, 0.5f, 0.5f};
    const std::vector<tn::NamedRocCurve> curves{{"Basic CNN", tn::roc_curve(y_true, scores)}};
    const fs::path path = dir.path() / "roc.png";
    const auto figure = tn::plot_roc_curve(curves, path);
    const cv::Mat image = read_back(path, figure);
    BOOST_TEST(image.cols >= 500);
    const auto& library_axes = figure.axes.at(0);
    const auto blue = matplotlib::tab10_blue;
    // The frame from the pixels; the limits the chapter's figure uses: x in [-0.01, 1.01],
    // y in [-0.01, 1.05] (matplotlib's plt.xlim / plt.ylim in the book).
    const Mapping axes{detect_frame(image, {0, 0, image.cols, image.rows}), -0.01, 1.01, -0.01, 1.05};
    BOOST_TEST(std::abs(library_axes.area.y - axes.frame.y) <= 1.5);
    // On the curve: the segment from (1/3, 2/3) to (2/3, 1), and the vertical start at x = 0.
    BOOST_TEST(count_near(image, axes.at(0.5, 5.0 / 6), 2, blue, 40) > 0);
    BOOST_TEST(count_near(image, axes.at(0, 0.2), 2, blue, 40) > 0);
    BOOST_TEST(count_near(image, axes.at(0.5, 0.6), 2, blue, 40) == 0);  // below the curve: none
    // The dashed diagonal: dark along y = x where no curve is, white beside it.
    int dark = 0;
    for (int k = 1; k < 40; ++k) {
        const double t = 0.4 + 0.5 * k / 40.0;
        dark += count_near(image, axes.at(t, t), 1, tn::plotting::dark_gray, 60) > 0;
    }
    BOOST_TEST(dark >= 20);  // dashes cover more than half
    BOOST_TEST(colour_distance(pixel_at(image, axes.at(0.5, 0.42)), tn::plotting::white) <= 10);
    // Legend in the lower right, with the curve's colour and the AUC text.
    const auto& legend = figure.legends.at(0);
    BOOST_TEST(legend.x + legend.width > axes.frame.x + axes.frame.width / 2);
    BOOST_TEST(legend.y > axes.frame.y + axes.frame.height / 2);
    BOOST_TEST(count_in_box(image, legend, blue, 30) > 20);
    BOOST_TEST(non_white_in_box(image, legend) > 300);

    // The single-curve form of the chapter.
    const auto single = tn::plot_roc_curve(tn::roc_curve(y_true, scores), dir.path() / "roc1.png");
    BOOST_TEST(single.image.size() == image.size());
    BOOST_CHECK_THROW(tn::plot_roc_curve(std::vector<tn::NamedRocCurve>{}, dir.path() / "none.png"),
                      std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(image_grid_shows_each_image_and_label) {
    TempDir dir;
    // Three flat RGB float images (red, green, blue) and one grey 8-bit image.
    std::vector<std::vector<float>> colours;
    for (int k = 0; k < 3; ++k) {
        std::vector<float> image(20 * 30 * 3, 0.0f);
        for (std::size_t p = 0; p < 20 * 30; ++p) image[p * 3 + k] = 1.0f;
        colours.push_back(image);
    }
    const std::vector<std::uint8_t> grey(16 * 16, 100);
    std::vector<tn::ImageView> views;
    for (const auto& c : colours) views.emplace_back(std::span<const float>(c), 20, 30, 3);
    views.emplace_back(std::span<const std::uint8_t>(grey), 16, 16, 1);
    const fs::path path = dir.path() / "grid.png";
    const auto figure = tn::plot_image_grid(views, 2, {"red", "green", "blue", "grey"}, path, "Augmented images");
    const cv::Mat image = read_back(path, figure);
    BOOST_TEST_REQUIRE(figure.axes.size() == 4u);
    const cv::Scalar expected[] = {{0, 0, 255}, {0, 255, 0}, {255, 0, 0}, {100, 100, 100}};
    // Each image found in the pixels: a filled rectangle of its colour, enlarged with its
    // aspect kept (20x30 -> 2:3, the grey 16x16 square), in reading order on two columns.
    // (The largest patch: anti-aliased caption pixels can share the grey.)
    ColourRegion shown[4];
    for (std::size_t i = 0; i < 4; ++i) {
        shown[i].box = largest_patch_of(image, expected[i], 2);
        shown[i].count = count_in_box(image, shown[i].box, expected[i], 2);
        BOOST_TEST_REQUIRE(shown[i].count > 0);
        BOOST_TEST(shown[i].count == shown[i].box.area());
        const double aspect = double(shown[i].box.width) / shown[i].box.height;
        BOOST_TEST(std::abs(aspect - (i < 3 ? 1.5 : 1.0)) < 0.05);
    }
    BOOST_TEST(shown[1].box.x > shown[0].box.x + shown[0].box.width);   // green right of red
    BOOST_TEST(std::abs(shown[1].box.y - shown[0].box.y) <= 2);          // on the same row
    BOOST_TEST(shown[2].box.y > shown[0].box.y + shown[0].box.height);  // blue starts the second row
    BOOST_TEST(std::abs(shown[2].box.x - shown[0].box.x) <= 2);          // under red
    BOOST_TEST(shown[3].box.x > shown[2].box.x + shown[2].box.width);   // grey right of blue
    for (std::size_t i = 0; i < 4; ++i) {
        const auto& cell = figure.axes[i];
        BOOST_TEST(std::abs(cell.area.x - shown[i].box.x) <= 1.5);  // the library's idea agrees
        // The caption under the image (its row's tallest image, here the grey one, sets the line).
        BOOST_TEST(non_white_in_box(image, {cell.area.x, cell.area.y + cell.area.height + 4, cell.area.width, 44}) >
                   20);
    }
    // Two columns: image 2 starts a second row.
    BOOST_TEST(figure.axes[2].area.y > figure.axes[0].area.y + figure.axes[0].area.height);
    // Small images are enlarged to be seen.
    BOOST_TEST(figure.axes[3].area.width >= 90);

    BOOST_CHECK_THROW(tn::plot_image_grid(views, 2, {"only one"}, dir.path() / "x.png"), std::invalid_argument);
    const std::vector<float> short_image(10, 0.5f);
    const tn::ImageView wrong[] = {tn::ImageView(std::span<const float>(short_image), 4, 4, 3)};
    try {
        tn::plot_image_grid(wrong, 1, {}, dir.path() / "x.png");
        BOOST_FAIL("a wrongly sized image was accepted");
    } catch (const std::invalid_argument& error) {
        BOOST_TEST(std::string(error.what()).find("image 0: 10 values for shape (4, 4, 3)") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(feature_map_scales_each_channel) {
    TempDir dir;
    // (4, 4, 3): channel 0 grows with x, channel 1 is constant, channel 2 grows with y
    // on a very different scale (each channel is normalised on its own).
    const int h = 4, w = 4, c = 3;
    std::vector<float> activation(h * w * c);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            activation[(y * w + x) * c + 0] = static_cast<float>(x);
            activation[(y * w + x) * c + 1] = 7.0f;
            activation[(y * w + x) * c + 2] = 1000.0f * static_cast<float>(y);
        }
    const fs::path path = dir.path() / "features.png";
    const auto figure = tn::plot_feature_map(activation, h, w, c, path, "VGG-16 block5_pool", 2, 8);
    const cv::Mat image = read_back(path, figure);
    BOOST_TEST_REQUIRE(figure.axes.size() == 2u);  // max_channels = 2
    const cv::Scalar low = matplotlib::viridis_low, high = matplotlib::viridis_high;
    const auto& first = figure.axes[0];
    BOOST_TEST(colour_distance(pixel_at(image, first.to_pixel(0.5, 2.5)), low) <= 2);   // x = 0: minimum
    BOOST_TEST(colour_distance(pixel_at(image, first.to_pixel(3.5, 2.5)), high) <= 2);  // x = 3: maximum
    const auto& constant = figure.axes[1];
    BOOST_TEST(colour_distance(pixel_at(image, constant.to_pixel(2.5, 2.5)), low) <= 2);

    const auto all = tn::render_feature_map(activation, h, w, c, "t");
    BOOST_TEST(all.axes.size() == 3u);
    BOOST_TEST(colour_distance(pixel_at(all.image, all.axes[2].to_pixel(1.5, 3.5)), high) <= 2);  // y = 3: maximum
    BOOST_CHECK_THROW(tn::render_feature_map(activation, h, w, 4, "t"), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
