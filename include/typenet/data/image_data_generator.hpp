// typenet/data/image_data_generator.hpp
// Keras's ImageDataGenerator as plain math, without OpenCV: the settings (same names as
// Keras), the random draw of one image's transform, and the affine matrix it composes.
// Applying the matrix to pixels is in data/augment.hpp (with data/affine_sampler.hpp,
// scipy.ndimage.affine_transform's arithmetic, as both Keras generations resample).
//
// Semantics (keras-preprocessing 1.0/1.1, the ImageDataGenerator of Keras 2.2):
//   - random_transform draws, in this order, for the settings that are on (and the two
//     flips always, as Keras does; tests/data/fixtures/keras_draws.json records Keras's draws):
//     theta ~ U(-rotation_range, rotation_range) degrees;
//     tx ~ U(-height_shift_range, height_shift_range), times the image height when the
//       range is < 1 (a fraction), else pixels: the "height" shift moves rows;
//     ty likewise from width_shift_range and the width (moves columns);
//     shear ~ U(-shear_range, shear_range) degrees (Keras 2.2 and later; Keras <= 2.1
//       read shear_range as radians);
//     zx then zy ~ U(zoom lower, zoom upper), independently (zx scales rows, zy columns,
//       Keras's naming); then a horizontal and a vertical flip, each with probability 1/2
//       (both drawn even when off, so that what follows comes from the same draw as in Keras);
//       then channel_shift_intensity ~ U(-channel_shift_range, channel_shift_range).
//   - transform_matrix composes M = R * T * S * Z on (row, col, 1) coordinates, mapping an
//     output pixel to the input position it reads, and centres it: M' = O * M * O^-1 with O
//     the translation by (height / 2 + 0.5, width / 2 + 0.5) (Keras's
//     transform_matrix_offset_center, +0.5 included).
//   - KerasConvention::keras3 reproduces Keras 3's legacy ImageDataGenerator instead
//     (keras/src/legacy/preprocessing/image.py): the same draws and the same R T S Z, but
//     centred with O = (height / 2 - 0.5, width / 2 - 0.5) and then both axes of the matrix
//     swapped (M' = P O M O^-1 P, P the row/col permutation). So in Keras 3 theta turns the
//     other way, tx (drawn from height_shift_range, times the height) moves columns, ty
//     rows, zx zooms columns, zy rows, the shear slants the other axis, and on a
//     non-square image the centre is (width / 2 - 0.5, height / 2 - 0.5) in (row, col).
//   - After the affine resampling: the channel shift (x + intensity, clipped to the
//     resampled image's min and max over all channels), then the flips; rescale last.
//   - Interpolation: bilinear by default (keras-preprocessing's interpolation_order=1);
//     nearest reproduces Keras 2.1/2.2's own image module (order 0).
//   - Validation data: rescale only (without_augmentation()).
//
// typenet's one deliberate default change: rescale defaults to 1/255 (the chapter's value
// everywhere), where Keras's default is no rescaling. Set rescale = 1 for raw 0..255.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <optional>
#include <stdexcept>
#include <string>

#include "typenet/core/random.hpp"

namespace typenet {

// How pixels read from outside the image are filled (Keras/scipy names; exact rules in
// data/affine_sampler.hpp).
enum class FillMode {
    nearest,   // aaaa|abcd|dddd  repeat the edge pixel
    constant,  // kkkk|abcd|kkkk  cval as soon as a position leaves [0, n - 1]
    reflect,   // dcba|abcd|dcba  mirror including the edge pixel (scipy 'reflect')
    wrap,      // abc|abcd|bcd    scipy's 'wrap': period n - 1, first and last pixels coincide
};

enum class Interpolation { nearest, bilinear };

// Which Keras's ImageDataGenerator the matrix reproduces (see the top of this file):
// keras2 = keras-preprocessing 1.0/1.1 (Keras 2.1-2.4, the book's); keras3 = Keras 3's
// keras.preprocessing.image.ImageDataGenerator, whose centre and axes differ.
enum class KerasConvention { keras2, keras3 };

inline const char* to_string(KerasConvention convention) {
    return convention == KerasConvention::keras2 ? "keras2" : "keras3";
}

// "keras2" or "keras3"; anything else throws std::invalid_argument naming the choices.
inline KerasConvention keras_convention_named(const std::string& name) {
    if (name == "keras2") return KerasConvention::keras2;
    if (name == "keras3") return KerasConvention::keras3;
    throw std::invalid_argument("unknown Keras convention '" + name + "' (choose keras2 or keras3)");
}

inline const char* to_string(FillMode mode) {
    switch (mode) {
        case FillMode::nearest: return "nearest";
        case FillMode::constant: return "constant";
        case FillMode::reflect: return "reflect";
        case FillMode::wrap: return "wrap";
    }
    return "?";
}

// Keras's zoom_range: a float z means [1 - z, 1 + z]; a pair is [lower, upper].
struct ZoomRange {
    double lower = 1.0;
    double upper = 1.0;
    constexpr ZoomRange() = default;
    constexpr ZoomRange(double zoom) : lower(1.0 - zoom), upper(1.0 + zoom) {}  // NOLINT: Keras-like
    constexpr ZoomRange(double low, double high) : lower(low), upper(high) {}
    constexpr bool is_identity() const { return lower == 1.0 && upper == 1.0; }
};

struct ImageDataGenerator {
    float rescale = 1.0f / 255.0f;  // multiplies pixels after everything else (Keras: None)
    double rotation_range = 0.0;      // degrees
    double width_shift_range = 0.0;   // fraction of the width if < 1, else pixels
    double height_shift_range = 0.0;  // fraction of the height if < 1, else pixels
    double shear_range = 0.0;         // degrees
    ZoomRange zoom_range{};
    bool horizontal_flip = false;
    bool vertical_flip = false;
    FillMode fill_mode = FillMode::nearest;
    float cval = 0.0f;  // the fill value for FillMode::constant, in 0..255 pixel units
    Interpolation interpolation = Interpolation::bilinear;
    KerasConvention convention = KerasConvention::keras2;  // the book's Keras 2
    // Adds one random value in [-range, range) to every channel after the resampling,
    // clipped to the image's own min and max (Keras's apply_channel_shift); pixel units.
    double channel_shift_range = 0.0;

    // Whether any random transform is on (rescale alone is not augmentation).
    bool augments() const {
        return rotation_range != 0.0 || width_shift_range != 0.0 || height_shift_range != 0.0 ||
               shear_range != 0.0 || !zoom_range.is_identity() || horizontal_flip || vertical_flip ||
               channel_shift_range != 0.0;
    }
    // The same rescaling without any random transform: what validation data gets.
    ImageDataGenerator without_augmentation() const {
        ImageDataGenerator plain;
        plain.rescale = rescale;
        return plain;
    }
};

// Throws std::invalid_argument naming the setting at fault.
inline void validate(const ImageDataGenerator& g) {
    auto check = [](bool ok, const std::string& what) {
        if (!ok) throw std::invalid_argument("ImageDataGenerator: " + what);
    };
    check(std::isfinite(g.rescale), "rescale must be finite");
    check(g.rotation_range >= 0.0 && std::isfinite(g.rotation_range), "rotation_range must be >= 0 (degrees)");
    check(g.width_shift_range >= 0.0 && std::isfinite(g.width_shift_range), "width_shift_range must be >= 0");
    check(g.height_shift_range >= 0.0 && std::isfinite(g.height_shift_range), "height_shift_range must be >= 0");
    check(g.shear_range >= 0.0 && std::isfinite(g.shear_range), "shear_range must be >= 0 (degrees)");
    check(g.channel_shift_range >= 0.0 && std::isfinite(g.channel_shift_range), "channel_shift_range must be >= 0");
    check(g.zoom_range.lower > 0.0 && g.zoom_range.lower <= g.zoom_range.upper && std::isfinite(g.zoom_range.upper),
          "zoom_range must satisfy 0 < lower <= upper (got [" + std::to_string(g.zoom_range.lower) + ", " +
              std::to_string(g.zoom_range.upper) + "])");
}

// One image's draw (Keras's transform_parameters dict).
struct TransformParameters {
    double theta = 0.0;  // rotation, degrees
    double tx = 0.0;     // shift along rows, pixels
    double ty = 0.0;     // shift along columns, pixels
    double shear = 0.0;  // degrees
    double zx = 1.0;     // zoom of rows
    double zy = 1.0;     // zoom of columns
    bool flip_horizontal = false;
    bool flip_vertical = false;
    std::optional<double> channel_shift_intensity;  // Keras: None unless channel_shift_range

    // True when the affine part is the identity: Keras then leaves the pixels untouched.
    bool affine_is_identity() const {
        return theta == 0.0 && tx == 0.0 && ty == 0.0 && shear == 0.0 && zx == 1.0 && zy == 1.0;
    }
};

// Draws one image's transform in Keras's order (see the top of this file). Generator:
// typenet::Random, or anything with uniform_double(low, high) (the test replays numpy's draws).
template <class Generator = Random>
TransformParameters random_transform(const ImageDataGenerator& g, std::size_t height, std::size_t width,
                                     Generator& rng) {
    TransformParameters p;
    if (g.rotation_range != 0.0) p.theta = rng.uniform_double(-g.rotation_range, g.rotation_range);
    if (g.height_shift_range != 0.0) {
        p.tx = rng.uniform_double(-g.height_shift_range, g.height_shift_range);
        if (g.height_shift_range < 1.0) p.tx *= static_cast<double>(height);
    }
    if (g.width_shift_range != 0.0) {
        p.ty = rng.uniform_double(-g.width_shift_range, g.width_shift_range);
        if (g.width_shift_range < 1.0) p.ty *= static_cast<double>(width);
    }
    if (g.shear_range != 0.0) p.shear = rng.uniform_double(-g.shear_range, g.shear_range);
    if (!g.zoom_range.is_identity()) {
        p.zx = rng.uniform_double(g.zoom_range.lower, g.zoom_range.upper);
        p.zy = rng.uniform_double(g.zoom_range.lower, g.zoom_range.upper);
    }
    const bool flip_horizontal = rng.uniform_double(0.0, 1.0) < 0.5;
    const bool flip_vertical = rng.uniform_double(0.0, 1.0) < 0.5;
    p.flip_horizontal = g.horizontal_flip && flip_horizontal;
    p.flip_vertical = g.vertical_flip && flip_vertical;
    if (g.channel_shift_range != 0.0)
        p.channel_shift_intensity = rng.uniform_double(-g.channel_shift_range, g.channel_shift_range);
    return p;
}

// A 3x3 homogeneous matrix on (row, col, 1), row-major.
using AffineMatrix = std::array<std::array<double, 3>, 3>;

// Formed as numpy's np.dot forms Keras's 3x3 products (OpenBLAS's dgemm, on the CPUs that
// have FMA): a0 b0, then two fused multiply-adds. std::fma keeps that rounding whatever the
// compiler's target, so the matrices equal Keras's to the bit (all 48 fixture cases).
inline AffineMatrix multiply(const AffineMatrix& a, const AffineMatrix& b) {
    AffineMatrix c{};
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) {
            double sum = a[i][0] * b[0][j];
            sum = std::fma(a[i][1], b[1][j], sum);
            c[i][j] = std::fma(a[i][2], b[2][j], sum);
        }
    return c;
}

// Keras's composed, centred matrix: output (row, col) -> input (row, col), in the
// convention's frame. The products are formed in Keras's order (np.dot of the same
// matrices), so the doubles match what Keras hands to scipy to the last bit or nearly.
inline AffineMatrix transform_matrix(const TransformParameters& p, std::size_t height, std::size_t width,
                                     KerasConvention convention = KerasConvention::keras2) {
    constexpr double deg = std::numbers::pi / 180.0;
    const double t = p.theta * deg, s = p.shear * deg;
    const AffineMatrix rotation{{{std::cos(t), -std::sin(t), 0.0}, {std::sin(t), std::cos(t), 0.0}, {0.0, 0.0, 1.0}}};
    const AffineMatrix shift{{{1.0, 0.0, p.tx}, {0.0, 1.0, p.ty}, {0.0, 0.0, 1.0}}};
    const AffineMatrix shear{{{1.0, -std::sin(s), 0.0}, {0.0, std::cos(s), 0.0}, {0.0, 0.0, 1.0}}};
    const AffineMatrix zoom{{{p.zx, 0.0, 0.0}, {0.0, p.zy, 0.0}, {0.0, 0.0, 1.0}}};
    const AffineMatrix m = multiply(multiply(multiply(rotation, shift), shear), zoom);

    // Keras 2: o = size / 2 + 0.5; Keras 3: size / 2 - 0.5. Both pair the height with the
    // matrix's first axis, before Keras 3 swaps the axes.
    const double half = convention == KerasConvention::keras2 ? 0.5 : -0.5;
    const double o_0 = static_cast<double>(height) / 2.0 + half;
    const double o_1 = static_cast<double>(width) / 2.0 + half;
    const AffineMatrix offset{{{1.0, 0.0, o_0}, {0.0, 1.0, o_1}, {0.0, 0.0, 1.0}}};
    const AffineMatrix reset{{{1.0, 0.0, -o_0}, {0.0, 1.0, -o_1}, {0.0, 0.0, 1.0}}};
    const AffineMatrix centred = multiply(multiply(offset, m), reset);
    if (convention == KerasConvention::keras2) return centred;
    // Keras 3 reads its matrix as (x, y) = (col, row): swap columns 0 and 1, then rows.
    return AffineMatrix{{{centred[1][1], centred[1][0], centred[1][2]},
                         {centred[0][1], centred[0][0], centred[0][2]},
                         {0.0, 0.0, 1.0}}};
}

// The generator for image `index` in epoch `epoch`: a pure function of the three numbers,
// so an augmented epoch is the same whatever thread decodes which image.
inline Random augmentation_random(std::uint64_t seed, std::uint64_t epoch, std::uint64_t index) {
    auto mix = [](std::uint64_t z) {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    };
    std::uint64_t h = mix(seed + 0x9E3779B97F4A7C15ull);
    h = mix(h ^ (epoch + 0xD1B54A32D192ED03ull));
    h = mix(h ^ (index + 0x8CB92BA72F3D8DD7ull));
    return Random(h);
}

}  // namespace typenet
