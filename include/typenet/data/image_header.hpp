// typenet/data/image_header.hpp
// An image's width and height read from its header, before any decoder runs, so that a
// tiny file claiming 32768 x 32768 pixels is refused instead of making the decoder
// allocate gigabytes, and a JPEG without scan data (headers and an end marker, no
// image) is called damaged instead of decoding to a silent grey picture.
//
// The limit: at most max_image_pixels() pixels (width x height), 2^26 = 67,108,864 by
// default (8192 x 8192; about 200 MB once decoded as RGB). Raise it for the whole
// process with set_max_image_pixels(n), or with the environment variable
// TYPENET_MAX_IMAGE_PIXELS, read once at the first image.
#pragma once

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

namespace typenet {

inline constexpr std::size_t default_max_image_pixels = std::size_t{1} << 26;

namespace detail {
inline std::atomic<std::size_t>& image_pixel_limit() {
    static std::atomic<std::size_t> limit{[] {
        if (const char* text = std::getenv("TYPENET_MAX_IMAGE_PIXELS"); text != nullptr && *text != '\0') {
            char* end = nullptr;
            const unsigned long long value = std::strtoull(text, &end, 10);
            if (end != text && *end == '\0' && value > 0) return static_cast<std::size_t>(value);
        }
        return default_max_image_pixels;
    }()};
    return limit;
}
}  // namespace detail

// The most pixels an image file may claim; larger ones are refused before decoding.
inline std::size_t max_image_pixels() { return detail::image_pixel_limit().load(std::memory_order_relaxed); }
inline void set_max_image_pixels(std::size_t pixels) {
    detail::image_pixel_limit().store(pixels == 0 ? default_max_image_pixels : pixels, std::memory_order_relaxed);
}

namespace detail {

// What a header says: the size, a reason the file is damaged, or that more bytes
// are needed (the header runs past the bytes given, which are not the whole file).
struct ImageHeader {
    std::size_t width = 0;
    std::size_t height = 0;
    std::optional<std::string> problem;
    bool need_more = false;
};

inline std::uint32_t header_u16_be(const std::uint8_t* p) { return (std::uint32_t{p[0]} << 8) | p[1]; }
inline std::uint32_t header_u16_le(const std::uint8_t* p) { return (std::uint32_t{p[1]} << 8) | p[0]; }
inline std::uint32_t header_u32_be(const std::uint8_t* p) { return (header_u16_be(p) << 16) | header_u16_be(p + 2); }
inline std::uint32_t header_u32_le(const std::uint8_t* p) { return (header_u16_le(p + 2) << 16) | header_u16_le(p); }

inline ImageHeader header_short(bool whole, const std::string& format) {
    ImageHeader h;
    if (whole) h.problem = "truncated " + format + " (the file ends inside its header)";
    else h.need_more = true;
    return h;
}

// JPEG: the frame header (SOFn) gives the size; a start-of-scan (SOS) must follow
// before the end-of-image marker, or there is no picture at all.
inline ImageHeader jpeg_header(const std::uint8_t* b, std::size_t n, bool whole) {
    ImageHeader h;
    bool have_frame = false;
    std::size_t i = 2;  // after SOI
    while (true) {
        while (i < n && b[i] != 0xFF) ++i;
        while (i < n && b[i] == 0xFF) ++i;
        if (i >= n) return whole ? ImageHeader{0, 0, "truncated JPEG (the file ends before its scan data)", false}
                                 : header_short(false, "JPEG");
        const std::uint8_t marker = b[i++];
        if (marker == 0xD9)
            return {0, 0, "damaged JPEG: no scan data (it ends before any start-of-scan marker)", false};
        if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;
        if (i + 1 >= n) return header_short(whole, "JPEG");
        const std::size_t length = header_u16_be(b + i);
        if (length < 2) return {0, 0, "damaged JPEG: a segment of length " + std::to_string(length), false};
        const bool frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
        if (frame) {
            if (i + 7 > n) return header_short(whole, "JPEG");
            h.height = header_u16_be(b + i + 3);
            h.width = header_u16_be(b + i + 5);
            have_frame = true;
        }
        if (marker == 0xDA) {
            if (!have_frame) return {0, 0, "damaged JPEG: scan data before any frame header", false};
            return h;
        }
        i += length;
    }
}

// PNM (P1..P6): magic, then width and height as decimal text, with # comments.
inline ImageHeader pnm_header(const std::uint8_t* b, std::size_t n, bool whole) {
    std::size_t i = 2;
    std::size_t values[2] = {0, 0};
    for (std::size_t& value : values) {
        while (i < n && (std::isspace(b[i]) || b[i] == '#')) {
            if (b[i] == '#')
                while (i < n && b[i] != '\n') ++i;
            else
                ++i;
        }
        if (i >= n) return header_short(whole, "PNM");
        if (!std::isdigit(b[i])) return {0, 0, "damaged PNM header (no width or height)", false};
        for (std::size_t digits = 0; i < n && std::isdigit(b[i]); ++i) {
            if (++digits > 9) return {0, 0, "damaged PNM header (an absurd width or height)", false};
            value = value * 10 + (b[i] - '0');
        }
    }
    return {values[0], values[1], std::nullopt, false};
}

// TIFF: ImageWidth (256) and ImageLength (257) of the first image file directory.
inline ImageHeader tiff_header(const std::uint8_t* b, std::size_t n, bool whole) {
    if (n < 8) return header_short(whole, "TIFF");
    const bool little = b[0] == 'I';
    auto u16 = [&](std::size_t at) { return little ? header_u16_le(b + at) : header_u16_be(b + at); };
    auto u32 = [&](std::size_t at) { return little ? header_u32_le(b + at) : header_u32_be(b + at); };
    const std::size_t ifd = u32(4);
    if (ifd + 2 > n) return header_short(whole, "TIFF");
    const std::size_t entries = u16(ifd);
    ImageHeader h;
    for (std::size_t e = 0; e < entries; ++e) {
        const std::size_t at = ifd + 2 + 12 * e;
        if (at + 12 > n) return header_short(whole, "TIFF");
        const std::uint32_t tag = u16(at), type = u16(at + 2);
        if (tag != 256 && tag != 257) continue;
        const std::size_t value = type == 3 ? u16(at + 8) : u32(at + 8);
        (tag == 256 ? h.width : h.height) = value;
    }
    if (h.width == 0 || h.height == 0) h.problem = "damaged TIFF (no image width or height in its header)";
    return h;
}

// WebP: the size in the VP8 (lossy), VP8L (lossless) or VP8X (extended) chunk.
inline ImageHeader webp_header(const std::uint8_t* b, std::size_t n, bool whole) {
    if (n < 30) return header_short(whole, "WebP");
    const std::string chunk(reinterpret_cast<const char*>(b + 12), 4);
    if (chunk == "VP8 ") return {header_u16_le(b + 26) & 0x3fffu, header_u16_le(b + 28) & 0x3fffu, std::nullopt, false};
    if (chunk == "VP8L") {
        const std::uint32_t bits = header_u32_le(b + 21);
        return {(bits & 0x3fffu) + 1, ((bits >> 14) & 0x3fffu) + 1, std::nullopt, false};
    }
    if (chunk == "VP8X")
        return {(header_u32_le(b + 24) & 0xffffffu) + 1, (header_u32_le(b + 27) & 0xffffffu) + 1, std::nullopt, false};
    return {0, 0, "damaged WebP (unknown chunk '" + chunk + "')", false};
}

// The header of `b` (the first n bytes of a file of `format`; `whole` when they are the
// whole file), with the size checked against max_image_pixels().
inline ImageHeader image_header(const std::uint8_t* b, std::size_t n, const std::string& format, bool whole) {
    ImageHeader h;
    if (format == "jpeg") {
        h = jpeg_header(b, n, whole);
    } else if (format == "png") {
        if (n < 24) return header_short(whole, "PNG");
        if (std::string(reinterpret_cast<const char*>(b + 12), 4) != "IHDR")
            return {0, 0, "damaged PNG (its first chunk is not IHDR)", false};
        h = {header_u32_be(b + 16), header_u32_be(b + 20), std::nullopt, false};
    } else if (format == "bmp") {
        if (n < 26) return header_short(whole, "BMP");
        if (header_u32_le(b + 14) == 12) {  // OS/2 core header: 16-bit sizes
            h = {header_u16_le(b + 18), header_u16_le(b + 20), std::nullopt, false};
        } else {
            const auto height = static_cast<std::int32_t>(header_u32_le(b + 22));  // negative: top-down
            h = {static_cast<std::int32_t>(header_u32_le(b + 18)) < 0 ? 0 : header_u32_le(b + 18),
                 static_cast<std::size_t>(height < 0 ? -static_cast<std::int64_t>(height) : height), std::nullopt, false};
        }
    } else if (format == "pnm") {
        h = pnm_header(b, n, whole);
    } else if (format == "tiff") {
        h = tiff_header(b, n, whole);
    } else if (format == "webp") {
        h = webp_header(b, n, whole);
    } else {
        h.problem = "not an image (unknown file signature)";
    }
    if (h.problem || h.need_more) return h;
    if (h.width == 0 || h.height == 0) {
        h.problem = "damaged " + format + " header (width or height zero)";
    } else if (h.width > max_image_pixels() / h.height) {
        h.problem = "the header claims " + std::to_string(h.width) + "x" + std::to_string(h.height) +
                    " pixels, over the limit of " + std::to_string(max_image_pixels()) +
                    " (raise it with typenet::set_max_image_pixels or TYPENET_MAX_IMAGE_PIXELS)";
    }
    return h;
}

}  // namespace detail
}  // namespace typenet
