// typenet/data/augment.hpp
// Applies a Keras ImageDataGenerator transform (data/image_data_generator.hpp) to an
// image with OpenCV: one cv::warpAffine with the composed matrix (Keras resamples once
// too), then the flips, then rescale.
//
// Keras's matrix works on (row, col) and maps each output pixel to the input position
// it reads (scipy.ndimage.affine_transform); OpenCV's works on (x = col, y = row), so
// the matrix is transposed into OpenCV's order (opencv_inverse_map) and passed with
// WARP_INVERSE_MAP. Both treat integer coordinates as pixel centres.
// Fill modes: nearest = BORDER_REPLICATE, constant = BORDER_CONSTANT (cval),
// reflect = BORDER_REFLECT (scipy 'reflect': d c b a | a b c d), wrap = BORDER_WRAP
// (periodic, as TensorFlow's and scipy's 'grid-wrap'; old scipy's 'wrap' was off by one).
// Two known differences from scipy, both measured by tests/data against Keras's output:
// OpenCV rounds source coordinates to 1/32 pixel for bilinear sampling (values differ by a
// fraction of a grey level), and its constant border blends cval into the edge pixels
// within one pixel of the border, where scipy's 'constant' switches to cval abruptly.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "typenet/core/random.hpp"
#include "typenet/data/image_data_generator.hpp"

namespace typenet {

inline int opencv_border_mode(FillMode mode) {
    switch (mode) {
        case FillMode::nearest: return cv::BORDER_REPLICATE;
        case FillMode::constant: return cv::BORDER_CONSTANT;
        case FillMode::reflect: return cv::BORDER_REFLECT;
        case FillMode::wrap: return cv::BORDER_WRAP;
    }
    throw std::invalid_argument("unknown fill mode");
}

inline int opencv_interpolation(Interpolation interpolation) {
    return interpolation == Interpolation::nearest ? cv::INTER_NEAREST : cv::INTER_LINEAR;
}

// Resamples `image` (any depth, 1 to 4 channels) through Keras's matrix `m` into `out`
// (same size and type; may not alias `image`).
inline void apply_transform(const cv::Mat& image, cv::Mat& out, const AffineMatrix& m, FillMode fill_mode,
                            float cval, Interpolation interpolation) {
    const auto map = opencv_inverse_map(m);
    const cv::Mat warp = (cv::Mat_<double>(2, 3) << map[0], map[1], map[2], map[3], map[4], map[5]);
    cv::warpAffine(image, out, warp, image.size(), opencv_interpolation(interpolation) | cv::WARP_INVERSE_MAP,
                   opencv_border_mode(fill_mode), cv::Scalar::all(cval));
}

inline cv::Mat apply_transform(const cv::Mat& image, const AffineMatrix& m, FillMode fill_mode, float cval,
                               Interpolation interpolation) {
    cv::Mat out;
    apply_transform(image, out, m, fill_mode, cval, interpolation);
    return out;
}

// Keras's ImageDataGenerator.apply_transform: the affine part (left alone when it is the
// identity, as Keras does), then the horizontal and vertical flips. No rescale.
// `out` may be preallocated (same size and type) to write into a caller's buffer.
inline void apply_transform(const cv::Mat& image, cv::Mat& out, const TransformParameters& p,
                            const ImageDataGenerator& g) {
    if (p.affine_is_identity()) {
        image.copyTo(out);
    } else {
        apply_transform(image, out, transform_matrix(p, static_cast<std::size_t>(image.rows),
                                                     static_cast<std::size_t>(image.cols)),
                        g.fill_mode, g.cval, g.interpolation);
    }
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
