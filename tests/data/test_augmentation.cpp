// Augmentation: the random draw, the composed matrix (worked by hand and as Keras hands it
// to scipy), the resampling against Keras's output, and pixels after simple moves.
// test_augmentation_keras.cpp checks both conventions on the larger fixtures.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <fstream>
#include <numbers>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "typenet/data/augment.hpp"
#include "typenet/data/image_data_generator.hpp"
#include "chapter5/augmentation.hpp"  // examples/: the book's augmentation

namespace tn = typenet;

namespace {

// A float image whose pixel (r, c, ch) is `f(r, c, ch)`.
template <class F>
cv::Mat make_image(int rows, int cols, int channels, F f) {
    cv::Mat image(rows, cols, CV_32FC(channels));
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c)
            for (int ch = 0; ch < channels; ++ch) image.ptr<float>(r)[c * channels + ch] = f(r, c, ch);
    return image;
}
float at(const cv::Mat& image, int r, int c, int ch = 0) { return image.ptr<float>(r)[c * image.channels() + ch]; }

void check_matrix(const tn::AffineMatrix& got, const double (&want)[2][3], double tolerance) {
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 3; ++j) BOOST_CHECK_MESSAGE(std::abs(got[i][j] - want[i][j]) <= tolerance,
                                                        "matrix[" << i << "][" << j << "] = " << got[i][j]
                                                                  << ", expected " << want[i][j]);
    BOOST_CHECK_EQUAL(got[2][0], 0.0);
    BOOST_CHECK_EQUAL(got[2][1], 0.0);
    BOOST_CHECK_EQUAL(got[2][2], 1.0);
}

nlohmann::json read_json(const std::string& name) {
    std::ifstream in(std::string(TYPENET_DATA_FIXTURES_DIR) + "/" + name);
    BOOST_REQUIRE_MESSAGE(in, "missing fixture " << name);
    return nlohmann::json::parse(in);
}

tn::FillMode fill_mode_named(const std::string& name) {
    if (name == "nearest") return tn::FillMode::nearest;
    if (name == "constant") return tn::FillMode::constant;
    if (name == "reflect") return tn::FillMode::reflect;
    return tn::FillMode::wrap;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(augmentation)

BOOST_AUTO_TEST_CASE(chapter5_augmentation_is_the_chapters_keras_call) {
    // ImageDataGenerator(rescale=1./255, zoom_range=0.3, rotation_range=50, width_shift_range=0.2,
    //                    height_shift_range=0.2, shear_range=0.2, horizontal_flip=True, fill_mode='nearest')
    const tn::ImageDataGenerator g = chapter5::training_augmentation();
    BOOST_TEST(g.rescale == 1.0f / 255.0f);
    BOOST_TEST(g.zoom_range.lower == 0.7);
    BOOST_TEST(g.zoom_range.upper == 1.3);
    BOOST_TEST(g.rotation_range == 50.0);
    BOOST_TEST(g.width_shift_range == 0.2);
    BOOST_TEST(g.height_shift_range == 0.2);
    BOOST_TEST(g.shear_range == 0.2);
    BOOST_TEST(g.horizontal_flip);
    BOOST_TEST(!g.vertical_flip);
    BOOST_TEST((g.fill_mode == tn::FillMode::nearest));
    BOOST_TEST(g.without_augmentation().augments() == false);  // validation: rescale only
}

// numpy's draws, as recorded after np.random.seed(seed): uniform(low, high) is
// low + (high - low) * u, as numpy's legacy RandomState computes it.
struct KerasDraws {
    std::vector<double> units;
    std::size_t used = 0;
    double uniform_double(double low, double high) {
        BOOST_REQUIRE_LT(used, units.size());
        return low + (high - low) * units[used++];
    }
};

BOOST_AUTO_TEST_CASE(random_transform_makes_the_draws_keras_made) {
    // keras_draws.json: for five settings, two shapes and four seeds, the units numpy drew
    // and the transform keras-preprocessing 1.1.2's get_random_transform made of them.
    const auto fixture = read_json("keras_draws.json");
    BOOST_REQUIRE_EQUAL(fixture["cases"].size(), 40u);
    for (const auto& c : fixture["cases"]) {
        const auto& s = c["settings"];
        tn::ImageDataGenerator g;
        g.rotation_range = s.value("rotation_range", 0.0);
        g.width_shift_range = s.value("width_shift_range", 0.0);
        g.height_shift_range = s.value("height_shift_range", 0.0);
        g.shear_range = s.value("shear_range", 0.0);
        if (s.contains("zoom_range"))
            g.zoom_range = s["zoom_range"].is_array() ? tn::ZoomRange(s["zoom_range"][0], s["zoom_range"][1])
                                                      : tn::ZoomRange(s["zoom_range"].get<double>());
        g.horizontal_flip = s.value("horizontal_flip", false);
        g.vertical_flip = s.value("vertical_flip", false);
        g.channel_shift_range = s.value("channel_shift_range", 0.0);

        KerasDraws draws{c["units"].get<std::vector<double>>()};
        const auto p = tn::random_transform(g, c["shape"][0], c["shape"][1], draws);
        const auto& k = c["transform"];
        const std::string what = s.dump() + " seed " + c["seed"].dump() + " shape " + c["shape"].dump();
        BOOST_TEST_CONTEXT(what) {
            BOOST_TEST(draws.used == c["used"].get<std::size_t>());  // as many draws as Keras
            BOOST_TEST(p.theta == k["theta"].get<double>());
            BOOST_TEST(p.tx == k["tx"].get<double>());
            BOOST_TEST(p.ty == k["ty"].get<double>());
            BOOST_TEST(p.shear == k["shear"].get<double>());
            BOOST_TEST(p.zx == k["zx"].get<double>());
            BOOST_TEST(p.zy == k["zy"].get<double>());
            BOOST_TEST(p.flip_horizontal == (k["flip_horizontal"].get<double>() != 0.0));
            BOOST_TEST(p.flip_vertical == (k["flip_vertical"].get<double>() != 0.0));
            BOOST_TEST(p.channel_shift_intensity.has_value() == !k["channel_shift_intensity"].is_null());
            if (p.channel_shift_intensity && !k["channel_shift_intensity"].is_null())
                BOOST_TEST(*p.channel_shift_intensity == k["channel_shift_intensity"].get<double>());
        }
    }
}

BOOST_AUTO_TEST_CASE(random_transform_stays_in_keras_ranges) {
    tn::ImageDataGenerator g{.rotation_range = 50,
                             .width_shift_range = 0.2,
                             .height_shift_range = 0.1,
                             .shear_range = 0.2,
                             .zoom_range = 0.3,
                             .horizontal_flip = true,
                             .vertical_flip = true};
    g.channel_shift_range = 10;
    tn::Random rng(123);

    // Over many draws: inside the ranges, zx and zy independent, flips about half the time.
    std::size_t flips = 0, zoom_differs = 0;
    for (int i = 0; i < 2000; ++i) {
        const auto q = tn::random_transform(g, 150, 200, rng);
        BOOST_REQUIRE(q.theta >= -50 && q.theta < 50);
        BOOST_REQUIRE(std::abs(q.tx) <= 15 && std::abs(q.ty) <= 40);
        BOOST_REQUIRE(q.zx >= 0.7 && q.zx < 1.3 && q.zy >= 0.7 && q.zy < 1.3);
        flips += q.flip_horizontal;
        zoom_differs += q.zx != q.zy;
    }
    BOOST_CHECK(flips > 850 && flips < 1150);
    BOOST_CHECK_EQUAL(zoom_differs, 2000u);

    // Shift ranges of 1 or more are pixels, as in Keras 2.2.
    tn::ImageDataGenerator pixels{.width_shift_range = 3};
    for (int i = 0; i < 100; ++i) BOOST_REQUIRE(std::abs(tn::random_transform(pixels, 150, 200, rng).ty) <= 3);

    // Settings that are off draw nothing and leave the identity; the two flips are drawn
    // all the same, as Keras draws them (keras_draws.json, checked below).
    tn::ImageDataGenerator off;
    tn::Random untouched(5), two_draws(5);
    const auto none = tn::random_transform(off, 10, 10, untouched);
    BOOST_CHECK(none.affine_is_identity() && !none.flip_horizontal && !none.flip_vertical &&
                !none.channel_shift_intensity);
    two_draws.next_u64();
    two_draws.next_u64();
    BOOST_CHECK_EQUAL(untouched.state(), two_draws.state());
    BOOST_CHECK(!off.augments() && g.augments());
    BOOST_CHECK(!g.without_augmentation().augments());
    BOOST_CHECK_EQUAL(g.without_augmentation().rescale, g.rescale);
}

BOOST_AUTO_TEST_CASE(zoom_range_and_validation) {
    tn::ImageDataGenerator g{.zoom_range = 0.3};
    BOOST_CHECK_CLOSE(g.zoom_range.lower, 0.7, 1e-12);
    BOOST_CHECK_CLOSE(g.zoom_range.upper, 1.3, 1e-12);
    tn::ImageDataGenerator h{.zoom_range = {0.5, 2.0}};
    BOOST_CHECK_EQUAL(h.zoom_range.lower, 0.5);
    BOOST_CHECK_EQUAL(h.zoom_range.upper, 2.0);
    BOOST_CHECK_EQUAL(tn::ImageDataGenerator{}.rescale, 1.0f / 255.0f);
    BOOST_CHECK_THROW(tn::validate(tn::ImageDataGenerator{.rotation_range = -1}), std::invalid_argument);
    BOOST_CHECK_THROW(tn::validate(tn::ImageDataGenerator{.zoom_range = 1.5}), std::invalid_argument);  // lower < 0
    try {
        tn::validate(tn::ImageDataGenerator{.zoom_range = {1.2, 0.8}});
        BOOST_ERROR("an inverted zoom range was accepted");
    } catch (const std::invalid_argument& e) {
        BOOST_CHECK(std::string(e.what()).find("zoom_range") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(matrix_worked_by_hand) {
    // 90 degrees about Keras's centre (h/2 + 0.5, w/2 + 0.5) = (2.5, 3.5) of a 4 x 6 image:
    // output (r, c) reads input (-(c - 3.5) + 2.5, (r - 2.5) + 3.5) = (6 - c, r + 1).
    tn::TransformParameters quarter;
    quarter.theta = 90;
    check_matrix(tn::transform_matrix(quarter, 4, 6), {{0, -1, 6}, {1, 0, 1}}, 1e-12);

    // A pure shift is not changed by centring: output (r, c) reads (r + tx, c + ty).
    tn::TransformParameters shift;
    shift.tx = 2;
    shift.ty = -3;
    check_matrix(tn::transform_matrix(shift, 9, 12), {{1, 0, 2}, {0, 1, -3}}, 1e-12);

    // Everything at once, fixed draws, M = R T S Z centred, written out term by term.
    tn::TransformParameters p;
    p.theta = 30, p.tx = 2, p.ty = -3, p.shear = 10, p.zx = 0.9, p.zy = 1.2;
    const double t = 30 * std::numbers::pi / 180, s = 10 * std::numbers::pi / 180;
    const double ct = std::cos(t), st = std::sin(t), ss = std::sin(s), cs = std::cos(s);
    // R T: [[ct, -st, ct*tx - st*ty], [st, ct, st*tx + ct*ty]]
    // (R T) S: second column becomes (-ct*ss - st*cs, -st*ss + ct*cs); Z scales the columns.
    const double a00 = ct * 0.9, a01 = (-ct * ss - st * cs) * 1.2, b0 = ct * 2 - st * -3;
    const double a10 = st * 0.9, a11 = (-st * ss + ct * cs) * 1.2, b1 = st * 2 + ct * -3;
    const double o_r = 9 / 2.0 + 0.5, o_c = 12 / 2.0 + 0.5;  // O M O^-1 moves the offset
    const double want[2][3] = {{a00, a01, b0 + o_r - a00 * o_r - a01 * o_c},
                               {a10, a11, b1 + o_c - a10 * o_r - a11 * o_c}};
    check_matrix(tn::transform_matrix(p, 9, 12), want, 1e-12);
}

BOOST_AUTO_TEST_CASE(matrix_equals_what_keras_hands_to_scipy) {
    const auto fixture = read_json("keras_augmentation.json");
    const std::size_t h = fixture["shape"][0], w = fixture["shape"][1];
    for (const auto& c : fixture["cases"]) {
        BOOST_TEST_CONTEXT(c["name"].get<std::string>()) {
            tn::TransformParameters p;
            const auto& params = c["params"];
            p.theta = params.value("theta", 0.0);
            p.tx = params.value("tx", 0.0);
            p.ty = params.value("ty", 0.0);
            p.shear = params.value("shear", 0.0);
            p.zx = params.value("zx", 1.0);
            p.zy = params.value("zy", 1.0);
            const double want[2][3] = {{c["matrix"][0][0], c["matrix"][0][1], c["matrix"][0][2]},
                                       {c["matrix"][1][0], c["matrix"][1][1], c["matrix"][1][2]}};
            check_matrix(tn::transform_matrix(p, h, w), want, 1e-9);
        }
    }
}

BOOST_AUTO_TEST_CASE(pixels_after_flip_shift_and_quarter_turn) {
    const cv::Mat image = make_image(5, 6, 1, [](int r, int c, int) { return float(10 * r + c); });
    tn::ImageDataGenerator g{.interpolation = tn::Interpolation::bilinear};

    tn::TransformParameters flip;
    flip.flip_horizontal = true;
    cv::Mat out = tn::apply_transform(image, flip, g);
    for (int r = 0; r < 5; ++r)
        for (int c = 0; c < 6; ++c) BOOST_REQUIRE_EQUAL(at(out, r, c), at(image, r, 5 - c));
    flip = {};
    flip.flip_vertical = true;
    out = tn::apply_transform(image, flip, g);
    for (int r = 0; r < 5; ++r)
        for (int c = 0; c < 6; ++c) BOOST_REQUIRE_EQUAL(at(out, r, c), at(image, 4 - r, c));

    // ty = +1 (a width shift): output (r, c) reads input (r, c + 1); the last column
    // repeats the edge (fill_mode nearest).
    tn::TransformParameters shift;
    shift.ty = 1;
    out = tn::apply_transform(image, shift, g);
    for (int r = 0; r < 5; ++r)
        for (int c = 0; c < 6; ++c) BOOST_REQUIRE_EQUAL(at(out, r, c), at(image, r, std::min(c + 1, 5)));
    // tx = -2 (a height shift) moves rows: output (r, c) reads input (r - 2, c).
    shift = {};
    shift.tx = -2;
    out = tn::apply_transform(image, shift, g);
    for (int r = 0; r < 5; ++r)
        for (int c = 0; c < 6; ++c) BOOST_REQUIRE_EQUAL(at(out, r, c), at(image, std::max(r - 2, 0), c));

    // 90 degrees on a 5 x 5 image: Keras turns about (3, 3), so output (r, c) reads input
    // (6 - c, r), the first column falling off the edge (nearest fill: row 4).
    const cv::Mat square = make_image(5, 5, 3, [](int r, int c, int ch) { return float(100 * ch + 10 * r + c); });
    tn::TransformParameters quarter;
    quarter.theta = 90;
    for (auto interpolation : {tn::Interpolation::bilinear, tn::Interpolation::nearest}) {
        g.interpolation = interpolation;
        out = tn::apply_transform(square, quarter, g);
        for (int r = 0; r < 5; ++r)
            for (int c = 0; c < 5; ++c)
                for (int ch = 0; ch < 3; ++ch)
                    BOOST_REQUIRE_CLOSE(at(out, r, c, ch), at(square, std::min(6 - c, 4), r, ch), 1e-4);
    }

    // The flip comes after the affine part: shift, then mirror the columns.
    tn::TransformParameters both;
    both.ty = 1;
    both.flip_horizontal = true;
    out = tn::apply_transform(image, both, g);
    for (int r = 0; r < 5; ++r)
        for (int c = 0; c < 6; ++c) BOOST_REQUIRE_EQUAL(at(out, r, c), at(image, r, std::min(5 - c + 1, 5)));
}

BOOST_AUTO_TEST_CASE(fill_modes_read_outside_the_image_as_keras_names_them) {
    // One row a b c d e f, shifted so output column c reads input column c - 3.
    const cv::Mat row = make_image(1, 6, 1, [](int, int c, int) { return float(c + 1); });  // 1..6
    tn::TransformParameters shift;
    shift.ty = -3;
    const std::vector<std::pair<tn::FillMode, std::vector<float>>> expected{
        {tn::FillMode::nearest, {1, 1, 1, 1, 2, 3}},   // a a a | a b c
        {tn::FillMode::reflect, {3, 2, 1, 1, 2, 3}},   // c b a | a b c
        {tn::FillMode::wrap, {3, 4, 5, 1, 2, 3}},      // scipy's 'wrap': period 5, a and f overlap
        {tn::FillMode::constant, {-7, -7, -7, 1, 2, 3}},
    };
    for (const auto& [mode, want] : expected) {
        tn::ImageDataGenerator g{.fill_mode = mode, .cval = -7};
        const cv::Mat out = tn::apply_transform(row, shift, g);
        for (int c = 0; c < 6; ++c)
            BOOST_CHECK_MESSAGE(at(out, 0, c) == want[c], tn::to_string(mode) << ": column " << c << " is "
                                                                               << at(out, 0, c) << ", expected "
                                                                               << want[c]);
    }
}

BOOST_AUTO_TEST_CASE(resampling_matches_keras_output) {
    const auto fixture = read_json("keras_augmentation.json");
    const int h = fixture["shape"][0], w = fixture["shape"][1], ch = fixture["shape"][2];
    const std::vector<float> input = fixture["input"];
    const cv::Mat image = cv::Mat(h, w, CV_32FC(ch), const_cast<float*>(input.data())).clone();
    for (const auto& c : fixture["cases"]) {
        const std::string name = c["name"];
        tn::TransformParameters p;
        const auto& params = c["params"];
        p.theta = params.value("theta", 0.0), p.tx = params.value("tx", 0.0), p.ty = params.value("ty", 0.0);
        p.shear = params.value("shear", 0.0), p.zx = params.value("zx", 1.0), p.zy = params.value("zy", 1.0);
        p.flip_horizontal = params.value("flip_horizontal", false);
        p.flip_vertical = params.value("flip_vertical", false);
        tn::ImageDataGenerator g;
        g.fill_mode = fill_mode_named(c["fill_mode"]);
        g.cval = c["cval"];
        g.interpolation = c["order"] == 0 ? tn::Interpolation::nearest : tn::Interpolation::bilinear;
        const cv::Mat out = tn::apply_transform(image, p, g);
        const std::vector<float> want = c["output"];

        // typenet's sampler does scipy's arithmetic: bilinear within 0.01 grey levels,
        // nearest identical (this fixture has no exact ties).
        double worst = 0;
        std::size_t mismatches = 0;
        for (int r = 0; r < h; ++r)
            for (int q = 0; q < w; ++q)
                for (int k = 0; k < ch; ++k) {
                    const double d = std::abs(at(out, r, q, k) - want[(r * w + q) * ch + k]);
                    worst = std::max(worst, d);
                    mismatches += d != 0.0;
                }
        BOOST_TEST_MESSAGE(name << ": max |diff| " << worst << ", values that differ " << mismatches);
        BOOST_TEST_CONTEXT(name) {
            if (g.interpolation == tn::Interpolation::bilinear)
                BOOST_CHECK_LE(worst, 0.01);
            else
                BOOST_CHECK_EQUAL(mismatches, 0u);
        }
    }
}

BOOST_AUTO_TEST_CASE(augment_image_rescales_after_the_transform_and_is_seeded) {
    const cv::Mat image = make_image(8, 8, 3, [](int r, int c, int ch) { return float(20 * r + 3 * c + ch); });
    tn::ImageDataGenerator plain;  // rescale only
    tn::Random rng(1);
    const cv::Mat scaled = tn::augment_image(image, plain, rng);
    for (int r = 0; r < 8; ++r)
        for (int c = 0; c < 8; ++c) BOOST_REQUIRE_CLOSE(at(scaled, r, c, 1), at(image, r, c, 1) / 255.0f, 1e-4);
    BOOST_CHECK_EQUAL(rng.state(), tn::Random(1).state());  // nothing drawn

    tn::ImageDataGenerator g{.rotation_range = 40, .zoom_range = 0.2, .horizontal_flip = true};
    auto a = tn::augmentation_random(42, 3, 17), b = tn::augmentation_random(42, 3, 17);
    const cv::Mat one = tn::augment_image(image, g, a), two = tn::augment_image(image, g, b);
    BOOST_CHECK_EQUAL(cv::norm(one, two, cv::NORM_INF), 0.0);
    auto other_epoch = tn::augmentation_random(42, 4, 17), other_image = tn::augmentation_random(42, 3, 18);
    BOOST_CHECK_NE(other_epoch.next_u64(), tn::augmentation_random(42, 3, 17).next_u64());
    BOOST_CHECK_NE(other_image.next_u64(), tn::augmentation_random(42, 3, 17).next_u64());
}

BOOST_AUTO_TEST_SUITE_END()
