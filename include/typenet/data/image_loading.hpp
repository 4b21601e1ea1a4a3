// typenet/data/image_loading.hpp
// Reading one image file as the chapter's Keras code does (load_img + img_to_array):
// decoded with OpenCV, turned into RGB (grayscale and alpha inputs included; alpha is
// dropped, as PIL's convert('RGB') does) or into one gray channel for a C = 1 model,
// resized to the model's input size with nearest-neighbour by default (Keras's load_img
// default; the pixels PIL's NEAREST picks, detail::pil_nearest_sources), or bilinear.
// EXIF orientation is ignored, as PIL's load_img does.
//
// A file that is empty, not an image, truncated or undecodable raises ImageReadError
// (with the file and the reason); the folder loaders and batch sources catch it, warn
// once per file and skip it. Truncated JPEGs are caught by their missing end-of-image
// marker, because libjpeg would otherwise pad them with grey and call them fine.
// Before any decoder runs, the header's width and height are read (image_header.hpp)
// and refused above max_image_pixels(), and a JPEG with no scan data is damaged.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "typenet/core/shape.hpp"
#include "typenet/data/image_data_generator.hpp"
#include "typenet/data/image_header.hpp"

namespace typenet {

// What a model takes: height, width and channels (1 = grayscale, 3 = RGB).
struct ImageSize {
    std::size_t height = 150;
    std::size_t width = 150;
    std::size_t channels = 3;
    std::size_t floats() const { return height * width * channels; }
};

namespace detail {
template <class T>
struct input_shape_of {
    using type = typename T::input_shape;
};
template <std::size_t... Dims>
struct input_shape_of<Shape<Dims...>> {
    using type = Shape<Dims...>;
};
}  // namespace detail

// The image size of a model's input (or of a Shape<H, W, C>), e.g.
// input_image_size<BasicCNN>() == ImageSize{150, 150, 3}.
template <class ModelOrShape>
constexpr ImageSize input_image_size() {
    using S = typename detail::input_shape_of<ModelOrShape>::type;
    static_assert(ImageShape<S>, "input_image_size: the model's input is not an image (H, W, C)");
    static_assert(S::dims[2] == 1 || S::dims[2] == 3, "input_image_size: images have 1 (gray) or 3 (RGB) channels");
    return ImageSize{S::dims[0], S::dims[1], S::dims[2]};
}

class ImageReadError : public std::runtime_error {
public:
    ImageReadError(const std::filesystem::path& file, const std::string& reason)
        : std::runtime_error(file.string() + ": " + reason), file_(file), reason_(reason) {}
    const std::filesystem::path& file() const { return file_; }
    const std::string& reason() const { return reason_; }

private:
    std::filesystem::path file_;
    std::string reason_;
};

namespace detail {

inline bool starts_with(const std::vector<std::uint8_t>& b, std::initializer_list<std::uint8_t> prefix) {
    return b.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), b.begin());
}

// Which decoder a file's first bytes call for; nullopt when none we read.
inline std::optional<std::string> image_format(const std::vector<std::uint8_t>& head) {
    if (starts_with(head, {0xFF, 0xD8, 0xFF})) return "jpeg";
    if (starts_with(head, {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A})) return "png";
    if (starts_with(head, {'B', 'M'})) return "bmp";
    if (starts_with(head, {'I', 'I', 0x2A, 0x00}) || starts_with(head, {'M', 'M', 0x00, 0x2A})) return "tiff";
    if (head.size() >= 12 && starts_with(head, {'R', 'I', 'F', 'F'}) && head[8] == 'W' && head[9] == 'E' &&
        head[10] == 'B' && head[11] == 'P')
        return "webp";
    if (head.size() >= 2 && head[0] == 'P' && head[1] >= '1' && head[1] <= '6') return "pnm";
    return std::nullopt;
}

// Whether a JPEG reaches its end-of-image marker (FF D9), found by walking its segments
// (each marker with its length; the entropy-coded data after a start-of-scan, where 0xFF
// is always followed by 0x00, a restart code or fill), so neither an EXIF thumbnail's own
// end marker nor data appended after the image can fool it.
inline bool jpeg_is_complete(const std::vector<std::uint8_t>& b) {
    const std::size_t n = b.size();
    std::size_t i = 2;  // after SOI
    while (i < n) {
        while (i < n && b[i] != 0xFF) ++i;  // tolerate stray bytes between segments, as libjpeg does
        while (i < n && b[i] == 0xFF) ++i;  // fill bytes
        if (i >= n) return false;
        const std::uint8_t marker = b[i++];
        if (marker == 0xD9) return true;                                       // EOI
        if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;  // no length
        if (i + 1 >= n) return false;
        const std::size_t length = (std::size_t{b[i]} << 8) | b[i + 1];
        if (length < 2 || i + length > n) return false;
        i += length;
        if (marker == 0xDA) {  // skip the scan's entropy-coded data up to the next marker
            while (i + 1 < n && !(b[i] == 0xFF && b[i + 1] != 0x00 && !(b[i + 1] >= 0xD0 && b[i + 1] <= 0xD7) &&
                                  b[i + 1] != 0xFF))
                ++i;
            if (i + 1 >= n) return false;
        }
    }
    return false;
}

inline std::vector<std::uint8_t> read_bytes(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw ImageReadError(file, "cannot open the file");
    in.seekg(0, std::ios::end);
    const auto size = in.tellg();
    if (size < 0) throw ImageReadError(file, "cannot read the file");
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
    in.seekg(0);
    if (!bytes.empty() && !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size())))
        throw ImageReadError(file, "cannot read the file");
    return bytes;
}

// OpenCV's INTER_NEAREST_EXACT computes (side << 16) in an int: a side of 32768 or
// more overflows it and crashes the process (a valid 1.4 KB PNG of 32768 x 8 does).
inline bool too_wide_for_opencv_nearest_exact(cv::Size from, cv::Size to) {
    constexpr int limit = 1 << 15;
    return from.width >= limit || from.height >= limit || to.width >= limit || to.height >= limit;
}

// The source pixel INTER_NEAREST_EXACT picks for output `x` (the centre of x, as
// PIL picks it), in 16.16 fixed point like OpenCV's, but in 64 bits.
inline int nearest_exact_source(std::int64_t from, std::int64_t to, std::int64_t x) {
    const std::int64_t step = ((from << 16) + to / 2) / to;
    const std::int64_t source = (step * x + step / 2 - 1) >> 16;
    return static_cast<int>(std::clamp<std::int64_t>(source, 0, from - 1));
}

// INTER_NEAREST_EXACT for any size (8-bit images of any channel count).
inline void resize_nearest_exact(const cv::Mat& from, cv::Mat& to, cv::Size size) {
    to.create(size, from.type());
    const std::size_t pixel = from.elemSize();
    std::vector<int> columns(static_cast<std::size_t>(size.width));
    for (int x = 0; x < size.width; ++x) columns[static_cast<std::size_t>(x)] = nearest_exact_source(from.cols, size.width, x);
    for (int y = 0; y < size.height; ++y) {
        const std::uint8_t* row = from.ptr<std::uint8_t>(nearest_exact_source(from.rows, size.height, y));
        std::uint8_t* out = to.ptr<std::uint8_t>(y);
        for (int x = 0; x < size.width; ++x)
            std::memcpy(out + pixel * static_cast<std::size_t>(x), row + pixel * static_cast<std::size_t>(columns[static_cast<std::size_t>(x)]), pixel);
    }
}

// The source pixels PIL's Image.resize(size, NEAREST) picks (Pillow's ImagingScaleAffine),
// which Keras's load_img uses: the centre of output pixel 0 maps to scale / 2, each next one
// adds scale = from / to to a running double sum, truncated. The sum can land just below an
// integer where floor((x + 0.5) * scale) (OpenCV's INTER_NEAREST_EXACT) does not, so the two
// differ on some rows and columns (200 -> 150: rows 4, 16, 19, 22, ...).
inline std::vector<int> pil_nearest_sources(int from, int to) {
    std::vector<int> sources(static_cast<std::size_t>(to));
    const double scale = static_cast<double>(from) / static_cast<double>(to);
    double position = scale * 0.5;
    for (int x = 0; x < to; ++x) {
        sources[static_cast<std::size_t>(x)] = std::clamp(static_cast<int>(position), 0, from - 1);
        position += scale;
    }
    return sources;
}

// PIL's NEAREST resize for any size (8-bit images of any channel count).
inline void resize_nearest_pil(const cv::Mat& from, cv::Mat& to, cv::Size size) {
    to.create(size, from.type());
    const std::size_t pixel = from.elemSize();
    const std::vector<int> columns = pil_nearest_sources(from.cols, size.width);
    const std::vector<int> rows = pil_nearest_sources(from.rows, size.height);
    for (int y = 0; y < size.height; ++y) {
        const std::uint8_t* row = from.ptr<std::uint8_t>(rows[static_cast<std::size_t>(y)]);
        std::uint8_t* out = to.ptr<std::uint8_t>(y);
        for (int x = 0; x < size.width; ++x)
            std::memcpy(out + pixel * static_cast<std::size_t>(x),
                        row + pixel * static_cast<std::size_t>(columns[static_cast<std::size_t>(x)]), pixel);
    }
}

}  // namespace detail

// A cheap look at a file without decoding it: the reason it cannot be an image, or
// nullopt when it looks fine. Reads the header (the size checked against
// max_image_pixels(), a JPEG's scan data required) and the last two bytes; only a JPEG
// that does not end with its end-of-image marker is read whole and walked (jpeg_is_complete).
// Listing a folder with it catches empty, non-image and truncated files before an epoch.
inline std::optional<std::string> probe_image_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return "cannot open the file";
    in.seekg(0, std::ios::end);
    const auto end = in.tellg();
    if (end <= 0) return end == 0 ? "empty file" : "cannot read the file";
    const auto size = static_cast<std::size_t>(end);
    // The header: the first 4 KiB hold it for most files, 256 KiB for a JPEG with a big
    // EXIF block; only a header longer than that makes the probe read the whole file.
    std::vector<std::uint8_t> head;
    std::optional<std::string> format;
    detail::ImageHeader header;
    std::vector<std::uint8_t> bytes;  // the whole file, once read
    for (const std::size_t wanted : {std::size_t{1} << 12, std::size_t{1} << 18}) {
        head.resize(std::min(size, wanted));
        in.clear();
        in.seekg(0);
        in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
        if (!in) return "cannot read the file";
        format = detail::image_format(head);
        if (!format) return "not an image (unknown file signature)";
        header = detail::image_header(head.data(), head.size(), *format, head.size() == size);
        if (!header.need_more) break;
    }
    if (header.need_more) {
        in.close();
        try {
            bytes = detail::read_bytes(file);
        } catch (const ImageReadError& e) {
            return e.reason();
        }
        header = detail::image_header(bytes.data(), bytes.size(), *format, true);
    }
    if (header.problem) return header.problem;
    if (*format == "jpeg") {
        std::uint8_t last[2] = {0, 0};
        if (bytes.empty()) {
            in.clear();
            in.seekg(static_cast<std::streamoff>(size - std::min<std::size_t>(size, 2)));
            in.read(reinterpret_cast<char*>(last), 2);
        }
        const bool ends_with_eoi = bytes.empty() && in && size >= 4 && last[0] == 0xFF && last[1] == 0xD9;
        if (!ends_with_eoi) {  // truncated, or data after the image: walk it to know
            in.close();
            if (bytes.empty()) {
                try {
                    bytes = detail::read_bytes(file);
                } catch (const ImageReadError& e) {
                    return e.reason();
                }
            }
            if (!detail::jpeg_is_complete(bytes)) return "truncated JPEG (no end-of-image marker)";
        }
    }
    return std::nullopt;
}

// Decodes `file` as 8-bit RGB (channels 3) or gray (channels 1) at its own size.
inline cv::Mat decode_image(const std::filesystem::path& file, std::size_t channels = 3) {
    if (channels != 1 && channels != 3)
        throw std::invalid_argument("decode_image: channels must be 1 or 3, got " + std::to_string(channels));
    const auto bytes = detail::read_bytes(file);
    if (bytes.empty()) throw ImageReadError(file, "empty file");
    const auto format = detail::image_format(bytes);
    if (!format) throw ImageReadError(file, "not an image (unknown file signature)");
    // The size and damage the header shows, before the decoder allocates for it.
    if (const auto header = detail::image_header(bytes.data(), bytes.size(), *format, true); header.problem)
        throw ImageReadError(file, *header.problem);
    if (*format == "jpeg" && !detail::jpeg_is_complete(bytes))
        throw ImageReadError(file, "truncated JPEG (no end-of-image marker)");
    cv::Mat image;
    try {
        const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8U, const_cast<std::uint8_t*>(bytes.data()));
        const int flags = (channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR) | cv::IMREAD_IGNORE_ORIENTATION;
        image = cv::imdecode(buffer, flags);
    } catch (const cv::Exception& e) {
        throw ImageReadError(file, "cannot decode " + *format + " (" + e.err + ")");
    }
    if (image.empty() || image.rows == 0 || image.cols == 0)
        throw ImageReadError(file, "cannot decode " + *format + " (corrupt or unsupported)");
    if (channels == 3) cv::cvtColor(image, image, cv::COLOR_BGR2RGB);
    return image;
}

// decode_image, then resized to `size` (nearest by default, as Keras's load_img).
// Returns CV_8UC3 RGB or CV_8UC1; throws ImageReadError for an unreadable file.
inline cv::Mat read_image(const std::filesystem::path& file, const ImageSize& size,
                          Interpolation resize = Interpolation::nearest) {
    cv::Mat image = decode_image(file, size.channels);
    const cv::Size target(static_cast<int>(size.width), static_cast<int>(size.height));
    if (image.size() != target) {
        cv::Mat resized;
        if (resize == Interpolation::nearest)
            detail::resize_nearest_pil(image, resized, target);  // PIL's picks, any size
        else
            cv::resize(image, resized, target, 0, 0, cv::INTER_LINEAR);
        image = resized;
    }
    return image;
}

// read_image as float32 (H, W, C) multiplied by `rescale`, written to `out` (H*W*C floats).
inline void read_image_into(const std::filesystem::path& file, const ImageSize& size, float* out,
                            Interpolation resize = Interpolation::nearest, float rescale = 1.0f / 255.0f) {
    const cv::Mat image = read_image(file, size, resize);
    cv::Mat target(static_cast<int>(size.height), static_cast<int>(size.width),
                   CV_32FC(static_cast<int>(size.channels)), out);
    image.convertTo(target, CV_32F, rescale);
}

}  // namespace typenet
