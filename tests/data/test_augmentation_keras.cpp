// Augmentation against Keras's own pixels: the fixtures in tests/fixtures/augmentation,
// made by make_augmentation_fixtures.py with keras-preprocessing 1.1.2 (keras2) and
// Keras 3 (keras3), on a Fashion-MNIST image, a natural 150x150x3 picture and a
// non-square crop, for every parameter, fill mode, order and both conventions.
// Bilinear: max |diff| <= 0.01 grey levels. Nearest: identical pixels, except where the
// source coordinate is an exact tie (k + 0.5, or the edge of the image for 'constant'),
// whose count is reported (and must be 0 where typenet's matrix equals Keras's).
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "typenet/data/augment.hpp"
#include "typenet/data/image_data_generator.hpp"
#include "typenet/io/safetensors.hpp"

namespace tn = typenet;

namespace {

const std::filesystem::path fixtures = std::filesystem::path(TYPENET_FIXTURES_DIR) / "augmentation";

struct Fixture {
    cv::Mat input;  // CV_32FC(channels), 0..255
    std::map<std::string, tn::io::TensorData> outputs;
    nlohmann::json cases;
};

Fixture load(const std::string& file) {
    Fixture f;
    const auto metadata = tn::io::read_safetensors_metadata(fixtures / file);
    f.cases = nlohmann::json::parse(metadata.at("cases"));
    for (auto& t : tn::io::read_safetensors(fixtures / file)) f.outputs.emplace(t.name, std::move(t));
    const std::string input_file = metadata.at("input_file");
    const auto inputs = input_file == file ? std::vector<tn::io::TensorData>{f.outputs.at("input")}
                                           : tn::io::read_safetensors(fixtures / input_file);
    const auto it = std::find_if(inputs.begin(), inputs.end(), [](const auto& t) { return t.name == "input"; });
    BOOST_REQUIRE_MESSAGE(it != inputs.end(), "no tensor 'input' in " << input_file);
    BOOST_REQUIRE_EQUAL(it->shape.size(), 3u);
    const int h = static_cast<int>(it->shape[0]), w = static_cast<int>(it->shape[1]), c = static_cast<int>(it->shape[2]);
    f.input = cv::Mat(h, w, CV_32FC(c), const_cast<float*>(it->values.data())).clone();
    return f;
}

tn::FillMode fill_mode_named(const std::string& name) {
    if (name == "nearest") return tn::FillMode::nearest;
    if (name == "constant") return tn::FillMode::constant;
    if (name == "reflect") return tn::FillMode::reflect;
    if (name == "wrap") return tn::FillMode::wrap;
    throw std::invalid_argument("unknown fill mode " + name);
}

tn::TransformParameters parameters(const nlohmann::json& params) {
    tn::TransformParameters p;
    p.theta = params.value("theta", 0.0), p.tx = params.value("tx", 0.0), p.ty = params.value("ty", 0.0);
    p.shear = params.value("shear", 0.0), p.zx = params.value("zx", 1.0), p.zy = params.value("zy", 1.0);
    p.flip_horizontal = params.value("flip_horizontal", false);
    p.flip_vertical = params.value("flip_vertical", false);
    if (params.contains("channel_shift_intensity")) p.channel_shift_intensity = params["channel_shift_intensity"].get<double>();
    return p;
}

// Distance of x from the nearest k + 0.5 (where order 0 rounds a tie up).
double from_half(double x) { return std::abs(x - (std::floor(x) + 0.5)); }

struct Totals {
    std::size_t cases = 0, bilinear_values = 0, bilinear_bit_equal = 0, nearest_values = 0, ties = 0,
                tie_mismatches = 0, matrices_bit_equal = 0, matrices = 0;
    double worst_bilinear = 0, worst_matrix = 0;
};

void check_file(const std::string& file, Totals& totals) {
    const Fixture f = load(file);
    const int h = f.input.rows, w = f.input.cols, ch = f.input.channels();
    for (const auto& c : f.cases) {
        const std::string name = c["name"];
        BOOST_TEST_CONTEXT(file << ": " << name) {
            tn::ImageDataGenerator g;
            g.convention = tn::keras_convention_named(c["convention"]);
            g.fill_mode = fill_mode_named(c["fill_mode"]);
            g.cval = c["cval"].get<float>();
            g.interpolation = c["order"] == 0 ? tn::Interpolation::nearest : tn::Interpolation::bilinear;
            const tn::TransformParameters p = parameters(c["params"]);
            const auto m = tn::transform_matrix(p, static_cast<std::size_t>(h), static_cast<std::size_t>(w), g.convention);

            // The matrix Keras handed to scipy (absent when the affine part is the identity).
            bool same_matrix = true;
            if (!c["matrix"].is_null()) {
                BOOST_REQUIRE(!p.affine_is_identity());
                double worst = 0;
                for (int i = 0; i < 2; ++i)
                    for (int j = 0; j < 3; ++j) {
                        const double want = c["matrix"][i][j];
                        worst = std::max(worst, std::abs(m[i][j] - want));
                        same_matrix = same_matrix && m[i][j] == want;
                    }
                BOOST_CHECK_LE(worst, 1e-12);
                totals.worst_matrix = std::max(totals.worst_matrix, worst);
                totals.matrices_bit_equal += same_matrix;
                ++totals.matrices;
            } else {
                BOOST_REQUIRE(p.affine_is_identity());
            }

            const cv::Mat out = tn::apply_transform(f.input, p, g);
            BOOST_REQUIRE(out.type() == f.input.type() && out.rows == h && out.cols == w);
            const auto& want = f.outputs.at(name).values;
            BOOST_REQUIRE_EQUAL(want.size(), static_cast<std::size_t>(h) * w * ch);
            double worst = 0;
            std::size_t bit_equal = 0, mismatches = 0, ties = 0, tie_mismatches = 0;
            for (int r = 0; r < h; ++r)
                for (int q = 0; q < w; ++q) {
                    // The resampled pixel this output pixel holds (the flips come after).
                    const int rr = p.flip_vertical ? h - 1 - r : r, qq = p.flip_horizontal ? w - 1 - q : q;
                    const double sr = (m[0][2] + rr * m[0][0]) + qq * m[0][1];
                    const double sc = (m[1][2] + rr * m[1][0]) + qq * m[1][1];
                    bool tie = false;
                    if (g.interpolation == tn::Interpolation::nearest && !p.affine_is_identity()) {
                        tie = from_half(sr) < 1e-9 || from_half(sc) < 1e-9;
                        if (g.fill_mode == tn::FillMode::constant)
                            tie = tie || std::abs(sr) < 1e-9 || std::abs(sr - (h - 1)) < 1e-9 || std::abs(sc) < 1e-9 ||
                                  std::abs(sc - (w - 1)) < 1e-9;
                    }
                    ties += tie;
                    bool pixel_differs = false;
                    for (int k = 0; k < ch; ++k) {
                        const float got = out.ptr<float>(r)[q * ch + k];
                        const float expected = want[(static_cast<std::size_t>(r) * w + q) * ch + k];
                        const double d = std::abs(static_cast<double>(got) - expected);
                        worst = std::max(worst, d);
                        bit_equal += got == expected;
                        pixel_differs = pixel_differs || got != expected;
                    }
                    if (pixel_differs) {
                        if (tie)
                            ++tie_mismatches;
                        else
                            ++mismatches;
                    }
                }
            const std::size_t values = static_cast<std::size_t>(h) * w * ch;
            BOOST_TEST_MESSAGE(file << " " << name << ": max |diff| " << worst << ", " << bit_equal << " of " << values
                                    << " values bit-equal, matrix " << (same_matrix ? "bit-equal" : "differs")
                                    << ", exact ties " << ties << " (" << tie_mismatches << " differ)");
            ++totals.cases;
            if (g.interpolation == tn::Interpolation::bilinear) {
                BOOST_CHECK_LE(worst, 0.01);
                totals.worst_bilinear = std::max(totals.worst_bilinear, worst);
                totals.bilinear_values += values;
                totals.bilinear_bit_equal += bit_equal;
            } else {
                BOOST_CHECK_MESSAGE(mismatches == 0, mismatches << " pixels differ where no tie explains it");
                // With Keras's very matrix the coordinates are scipy's to the bit: ties agree too.
                if (same_matrix) BOOST_CHECK_EQUAL(tie_mismatches, 0u);
                totals.nearest_values += values;
                totals.ties += ties;
                totals.tie_mismatches += tie_mismatches;
            }
        }
    }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(augmentation_against_keras)

BOOST_AUTO_TEST_CASE(pixels_match_keras2_and_keras3_for_every_parameter_fill_mode_and_order) {
    Totals totals;
    for (const char* file : {"fashion28.safetensors", "natural150.safetensors", "natural150_bilinear.safetensors",
                             "wide21x34.safetensors"})
        check_file(file, totals);
    BOOST_TEST_MESSAGE("augmentation fixtures: " << totals.cases << " cases; bilinear max |diff| "
                                                 << totals.worst_bilinear << ", " << totals.bilinear_bit_equal << " of "
                                                 << totals.bilinear_values << " values bit-equal; nearest: "
                                                 << totals.ties << " exact ties, " << totals.tie_mismatches
                                                 << " of them differ; matrices bit-equal " << totals.matrices_bit_equal
                                                 << " of " << totals.matrices << " (worst " << totals.worst_matrix
                                                 << ")");
    BOOST_CHECK_EQUAL(totals.cases, 2u * (22 + 2 + 3));  // every case of the four files was read
    BOOST_CHECK_GT(totals.ties, 0u);                     // the tie cases do exercise the rule
}

BOOST_AUTO_TEST_CASE(keras3_swaps_axes_and_moves_the_centre) {
    // A quarter turn of a 4 x 6 image. Keras 2: centre (2.5, 3.5), output (r, c) reads
    // (6 - c, r + 1) (worked in test_augmentation.cpp). Keras 3: the matrix acts on
    // (col, row) about (4 / 2 - 0.5, 6 / 2 - 0.5) = (1.5, 2.5) in its own frame, i.e. the
    // centre (row 2.5, col 1.5): output (r, c) reads (c + 1, 4 - r), turning the other way.
    tn::TransformParameters quarter;
    quarter.theta = 90;
    const auto m = tn::transform_matrix(quarter, 4, 6, tn::KerasConvention::keras3);
    const double want[2][3] = {{0, 1, 1}, {-1, 0, 4}};
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 3; ++j) BOOST_CHECK_SMALL(m[i][j] - want[i][j], 1e-12);
    // A height shift (tx) moves columns in Keras 3, rows in Keras 2.
    tn::TransformParameters shift;
    shift.tx = 2;
    const auto k2 = tn::transform_matrix(shift, 9, 12), k3 = tn::transform_matrix(shift, 9, 12, tn::KerasConvention::keras3);
    BOOST_CHECK_EQUAL(k2[0][2], 2.0);
    BOOST_CHECK_EQUAL(k2[1][2], 0.0);
    BOOST_CHECK_EQUAL(k3[0][2], 0.0);
    BOOST_CHECK_EQUAL(k3[1][2], 2.0);
    BOOST_CHECK(tn::keras_convention_named("keras3") == tn::KerasConvention::keras3);
    BOOST_CHECK_THROW(tn::keras_convention_named("keras4"), std::invalid_argument);
    BOOST_CHECK(tn::ImageDataGenerator{}.convention == tn::KerasConvention::keras2);
}

BOOST_AUTO_TEST_CASE(sampler_rounds_ties_up_and_wraps_with_scipys_period) {
    // One row 1..6. A shift of -3.5 with order 0 reads -3.5 .. 1.5: scipy rounds x + 0.5
    // down with floor, so 0.5 -> 1 and 1.5 -> 2 (ties go up).
    const cv::Mat row = cv::Mat(1, 6, CV_32F, std::vector<float>{1, 2, 3, 4, 5, 6}.data()).clone();
    const tn::AffineMatrix shift{{{1, 0, 0}, {0, 1, -3.5}, {0, 0, 1}}};
    const std::vector<std::pair<tn::FillMode, std::vector<float>>> order0{
        {tn::FillMode::nearest, {1, 1, 1, 1, 2, 3}},
        {tn::FillMode::reflect, {4, 3, 2, 1, 2, 3}},   // -3.5 -> 2.5 -> 3 (value 4)
        {tn::FillMode::wrap, {3, 4, 5, 6, 2, 3}},      // period 5: -0.5 -> 4.5 -> 5 (value 6)
        {tn::FillMode::constant, {-7, -7, -7, -7, 2, 3}},
    };
    for (const auto& [mode, want] : order0) {
        const cv::Mat out = tn::apply_transform(row, shift, mode, -7.0f, tn::Interpolation::nearest);
        for (int c = 0; c < 6; ++c)
            BOOST_CHECK_MESSAGE(out.at<float>(0, c) == want[c], tn::to_string(mode) << " column " << c << ": "
                                                                                     << out.at<float>(0, c) << ", expected "
                                                                                     << want[c]);
    }
    // Bilinear at 2.3 past the end: 'wrap' continues 1.3 2.3 3.3 (period 5), 'reflect'
    // comes back 5.7 4.7, 'constant' is cval as soon as the position leaves [0, 5].
    const tn::AffineMatrix forward{{{1, 0, 0}, {0, 1, 2.3}, {0, 0, 1}}};
    const std::vector<std::pair<tn::FillMode, std::vector<float>>> order1{
        {tn::FillMode::nearest, {3.3f, 4.3f, 5.3f, 6, 6, 6}},
        {tn::FillMode::reflect, {3.3f, 4.3f, 5.3f, 6, 5.7f, 4.7f}},
        {tn::FillMode::wrap, {3.3f, 4.3f, 5.3f, 1.3f, 2.3f, 3.3f}},
        {tn::FillMode::constant, {3.3f, 4.3f, 5.3f, -7, -7, -7}},
    };
    for (const auto& [mode, want] : order1) {
        const cv::Mat out = tn::apply_transform(row, forward, mode, -7.0f, tn::Interpolation::bilinear);
        for (int c = 0; c < 6; ++c) BOOST_CHECK_SMALL(out.at<float>(0, c) - want[c], 1e-5f);
    }
    // Other depths resample as float and convert back; buffers must not alias.
    cv::Mat bytes(3, 3, CV_8UC1, cv::Scalar(100));
    BOOST_CHECK_EQUAL(tn::apply_transform(bytes, shift, tn::FillMode::nearest, 0, tn::Interpolation::bilinear).at<uchar>(1, 1), 100);
    const tn::AffineMatrix broken{{{1, 0, std::nan("")}, {0, 1, 0}, {0, 0, 1}}};
    BOOST_CHECK_THROW(tn::apply_transform(row, broken, tn::FillMode::nearest, 0, tn::Interpolation::nearest),
                      std::invalid_argument);
    cv::Mat same = row.clone();
    BOOST_CHECK_THROW(tn::apply_transform(same, same, shift, tn::FillMode::nearest, 0, tn::Interpolation::nearest),
                      std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
