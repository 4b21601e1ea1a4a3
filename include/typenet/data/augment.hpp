// typenet/data/augment.hpp
// Applies a Keras ImageDataGenerator transform (data/image_data_generator.hpp) to an
// OpenCV image: one resampling with the composed matrix (Keras resamples once too) by
// typenet's own sampler, which does scipy.ndimage.affine_transform's arithmetic
// (data/affine_sampler.hpp: Keras's pixels to float rounding, its fill modes and its
// order-0 tie rule), then the flips, then rescale. OpenCV only holds the pixels and
// flips them; cv::warpAffine is not used because it rounds source coordinates to 1/32
// pixel (up to 5.8 grey levels from Keras's bilinear output) and breaks ties otherwise.
#pragma once

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>

#include <opencv2/core.hpp>

#include "typenet/core/random.hpp"
#include "typenet/data/affine_sampler.hpp"
#include "typenet/data/image_data_generator.hpp"

namespace typenet {

// Resamples `image` (any depth, any number of channels) through Keras's matrix `m` into
// `out` (same size and type; may not alias `image`; a preallocated `out` of that size and
// type is written in place). Keras resamples float pixels: other depths are converted to
// float, resampled and converted back (OpenCV's rounding).
inline void apply_transform(const cv::Mat& image, cv::Mat& out, const AffineMatrix& m, FillMode fill_mode,
                            float cval, Interpolation interpolation) {
    if (image.empty()) throw std::invalid_argument("apply_transform: empty image");
    if (image.data == out.data) throw std::invalid_argument("apply_transform: the output aliases the input");
    const bool is_float = image.depth() == CV_32F;
    cv::Mat source = image;
    if (!is_float)
        image.convertTo(source, CV_32F);
    else if (!image.isContinuous())
        source = image.clone();
    cv::Mat target;
    if (is_float) {
        out.create(image.size(), image.type());
        target = out.isContinuous() ? out : cv::Mat(image.size(), image.type());
    } else {
        target.create(image.size(), source.type());
    }
    affine_resample(source.ptr<float>(), target.ptr<float>(), static_cast<std::size_t>(image.rows),
                    static_cast<std::size_t>(image.cols), static_cast<std::size_t>(image.channels()), m, fill_mode,
                    cval, interpolation);
    if (!is_float)
        target.convertTo(out, image.type());
    else if (target.data != out.data)
        target.copyTo(out);
}

inline cv::Mat apply_transform(const cv::Mat& image, const AffineMatrix& m, FillMode fill_mode, float cval,
                               Interpolation interpolation) {
    cv::Mat out;
    apply_transform(image, out, m, fill_mode, cval, interpolation);
    return out;
}

// Keras's apply_channel_shift: every value plus `intensity` (rounded to float first, as
// numpy adds a Python float to a float32 array), clipped to the image's min and max over
// all channels. In place.
inline void apply_channel_shift(cv::Mat& image, double intensity) {
    cv::Mat values = image;
    if (image.depth() != CV_32F) image.convertTo(values, CV_32F);
    if (!values.isContinuous()) values = values.clone();
    float* v = values.ptr<float>();
    const std::size_t n = values.total() * static_cast<std::size_t>(values.channels());
    if (n == 0) return;
    float low = v[0], high = v[0];
    for (std::size_t i = 1; i < n; ++i) low = std::min(low, v[i]), high = std::max(high, v[i]);
    const auto shift = static_cast<float>(intensity);
    for (std::size_t i = 0; i < n; ++i) v[i] = std::min(std::max(v[i] + shift, low), high);
    if (values.data != image.data) values.convertTo(image, image.type());
}

// Keras's ImageDataGenerator.apply_transform: the affine part (left alone when it is the
// identity, as Keras does), the channel shift, then the horizontal and vertical flips.
// No rescale.
// `out` may be preallocated (same size and type) to write into a caller's buffer.
inline void apply_transform(const cv::Mat& image, cv::Mat& out, const TransformParameters& p,
                            const ImageDataGenerator& g) {
    if (p.affine_is_identity()) {
        image.copyTo(out);
    } else {
        apply_transform(image, out,
                        transform_matrix(p, static_cast<std::size_t>(image.rows),
                                         static_cast<std::size_t>(image.cols), g.convention),
                        g.fill_mode, g.cval, g.interpolation);
    }
    if (p.channel_shift_intensity) apply_channel_shift(out, *p.channel_shift_intensity);
    if (p.flip_horizontal) cv::flip(out, out, 1);  // mirror the columns
    if (p.flip_vertical) cv::flip(out, out, 0);    // mirror the rows
}

inline cv::Mat apply_transform(const cv::Mat& image, const TransformParameters& p, const ImageDataGenerator& g) {
    cv::Mat out;
    apply_transform(image, out, p, g);
    return out;
}

// One augmented sample as float32 (rescaled): draws the transform from `rng` (skipped when
// the generator does not augment), applies it and multiplies by g.rescale. `out` may wrap
// a caller's buffer of image.rows x image.cols x channels floats.
inline void augment_image(const cv::Mat& image, cv::Mat& out, const ImageDataGenerator& g, Random& rng) {
    if (!g.augments()) {  // rescale only (validation): one pass
        image.convertTo(out, CV_32F, g.rescale);
        return;
    }
    cv::Mat source = image;  // Keras transforms float pixels: no rounding between the steps
    if (image.depth() != CV_32F) image.convertTo(source, CV_32F);
    const auto p = random_transform(g, static_cast<std::size_t>(image.rows), static_cast<std::size_t>(image.cols), rng);
    apply_transform(source, out, p, g);
    if (g.rescale != 1.0f) out *= g.rescale;
}

inline cv::Mat augment_image(const cv::Mat& image, const ImageDataGenerator& g, Random& rng) {
    cv::Mat out;
    augment_image(image, out, g, rng);
    return out;
}

}  // namespace typenet
