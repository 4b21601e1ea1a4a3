// typenet/io/npy.hpp
// NumPy's .npy files, for arrays exchanged with Python (bottleneck features,
// predictions): `np.load("features.npy")` reads what write_npy wrote, and read_npy
// reads what `np.save` wrote.
//
// Contract:
//   write_npy(path, shape, data)  float32 ('<f4'), C order, atomically (the old file
//       stays whole if anything fails). Format 1.0, or 2.0 when the header is too long
//       for 1.0; the header is laid out byte for byte as numpy's np.save lays it out.
//   write_npy(path, expression)   the same for any xtensor expression (evaluated in
//       row-major order, converted to float).
//   read_npy(path) -> NpyArray    formats 1.0, 2.0 and 3.0; '<f4' as is, and '<f8',
//       '<i4', '<i8', '|u1' converted to float. Strict: throws FormatError (naming the
//       file) for a bad magic string, a truncated or malformed header, another dtype
//       (saying which), fortran_order True (saying to save with np.ascontiguousarray),
//       a shape numpy itself refuses (non-zero dimensions whose byte size overflows a
//       signed 64-bit stride, as (0, 2**62, 4) does), or a
//       data size that does not match the shape; nothing is allocated beyond the
//       header until the data's size is known to match the file's.
//   load_npy_xarray(path)         read_npy as an xt::xarray<float> of the same shape.
#pragma once

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xexpression.hpp>
#include <xtensor/xlayout.hpp>

#include "typenet/io/atomic_file.hpp"
#include "typenet/io/format_error.hpp"
#include "typenet/io/input_file.hpp"
#include "typenet/io/little_endian.hpp"

namespace typenet::io {

struct NpyArray {
    std::vector<std::size_t> shape;
    std::vector<float> values;  // C (row-major) order
};

namespace detail {

inline constexpr std::string_view npy_magic = "\x93NUMPY";
inline constexpr std::size_t npy_align = 64;           // numpy's ARRAY_ALIGN
inline constexpr std::size_t npy_growth_digits = 21;   // numpy's GROWTH_AXIS_MAX_DIGITS

// Python's repr of a tuple of ints: (), (5,), (2, 3).
inline std::string python_tuple(const std::vector<std::size_t>& shape) {
    std::string text = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + (shape.size() == 1 ? ",)" : ")");
}

// The bytes before the data, as numpy 1.24's _write_array_header makes them: the
// dict with sorted keys, spare spaces so the first axis can grow in place, then
// padding to 64 bytes and a newline.
inline std::string npy_header(const std::vector<std::size_t>& shape) {
    std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + python_tuple(shape) + ", }";
    if (!shape.empty()) {
        const std::size_t digits = std::to_string(shape[0]).size();
        if (digits < npy_growth_digits) dict.append(npy_growth_digits - digits, ' ');
    }
    for (int major : {1, 2}) {
        const std::size_t length_bytes = major == 1 ? 2 : 4;
        const std::size_t unpadded = npy_magic.size() + 2 + length_bytes + dict.size() + 1;
        const std::size_t padding = npy_align - unpadded % npy_align;  // numpy pads a full 64 when aligned
        const std::size_t header_length = dict.size() + padding + 1;
        if (major == 1 && header_length > 0xffff) continue;
        std::string out(npy_magic);
        out.push_back(static_cast<char>(major));
        out.push_back('\0');
        append_unsigned_little_endian(out, header_length, length_bytes);
        out += dict;
        out.append(padding, ' ');
        out.push_back('\n');
        return out;
    }
    throw std::length_error("npy header too long");  // needs > 4 GiB of shape text
}

// A small reader for the Python literal numpy writes:
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class NpyHeaderParser {
public:
    NpyHeaderParser(std::string_view text, const std::filesystem::path& file) : text_(text), file_(file) {}

    struct Fields {
        std::string descr;
        bool fortran_order = false;
        std::vector<std::size_t> shape;
    };

    Fields parse() {
        Fields fields;
        bool has_descr = false, has_order = false, has_shape = false;
        expect('{');
        while (!peek('}')) {
            const std::string key = string_literal();
            expect(':');
            if (key == "descr") {
                if (!peek('\'') && !peek('"'))
                    fail("descr is not a simple dtype string (structured arrays are not supported): only float32 "
                         "and plain numeric arrays can be read");
                fields.descr = string_literal();
                has_descr = true;
            } else if (key == "fortran_order") {
                fields.fortran_order = boolean();
                has_order = true;
            } else if (key == "shape") {
                fields.shape = tuple();
                has_shape = true;
            } else {
                fail("unexpected key '" + key + "' in the header");
            }
            if (!peek('}')) expect(',');
        }
        expect('}');
        skip_space();
        if (position_ != text_.size()) fail("unexpected text after the header dictionary");
        if (!has_descr || !has_order || !has_shape)
            fail("the header lacks one of 'descr', 'fortran_order', 'shape'");
        return fields;
    }

private:
    [[noreturn]] void fail(const std::string& problem) const {
        // Quote a bounded prefix: a hostile header can be megabytes long.
        constexpr std::size_t quote = 200;
        throw FormatError(file_, "malformed .npy header (" + problem + "): " + std::string(text_.substr(0, quote)) +
                                     (text_.size() > quote ? "..." : ""));
    }
    void skip_space() {
        while (position_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[position_]))) ++position_;
    }
    bool peek(char c) {
        skip_space();
        return position_ < text_.size() && text_[position_] == c;
    }
    void expect(char c) {
        if (!peek(c)) fail(std::string("expected '") + c + "' at character " + std::to_string(position_));
        ++position_;
    }
    std::string string_literal() {
        skip_space();
        if (position_ >= text_.size() || (text_[position_] != '\'' && text_[position_] != '"'))
            fail("expected a quoted string at character " + std::to_string(position_));
        const char quote = text_[position_++];
        const std::size_t end = text_.find(quote, position_);
        if (end == std::string_view::npos) fail("unterminated string");
        std::string value(text_.substr(position_, end - position_));
        position_ = end + 1;
        return value;
    }
    bool boolean() {
        skip_space();
        for (auto [word, value] : {std::pair{std::string_view("True"), true}, std::pair{std::string_view("False"), false}}) {
            if (text_.substr(position_, word.size()) == word) {
                position_ += word.size();
                return value;
            }
        }
        fail("fortran_order must be True or False");
    }
    std::vector<std::size_t> tuple() {
        std::vector<std::size_t> values;
        expect('(');
        while (!peek(')')) {
            skip_space();
            const std::size_t start = position_;
            std::size_t value = 0;
            while (position_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[position_]))) {
                const std::size_t digit = static_cast<std::size_t>(text_[position_] - '0');
                if (value > (SIZE_MAX - digit) / 10) fail("a dimension is too large");
                value = value * 10 + digit;
                ++position_;
            }
            if (position_ == start) fail("shape must be a tuple of non-negative integers");
            values.push_back(value);
            if (!peek(')')) expect(',');
        }
        expect(')');
        return values;
    }

    std::string_view text_;
    std::filesystem::path file_;
    std::size_t position_ = 0;
};

inline std::optional<Element> npy_element(const std::string& descr) {
    if (descr == "<f4") return Element::f32;
    if (descr == "<f8") return Element::f64;
    if (descr == "<i4") return Element::i32;
    if (descr == "<i8") return Element::i64;
    if (descr == "|u1") return Element::u8;
    return std::nullopt;
}

}  // namespace detail

inline void write_npy(const std::filesystem::path& path, const std::vector<std::size_t>& shape, const float* data) {
    std::size_t count = 1;
    for (std::size_t d : shape) count *= d;
    if (data == nullptr && count != 0)
        throw std::invalid_argument("write_npy(" + path.string() + "): no data for shape " +
                                    detail::shape_string(shape));
    const std::string header = detail::npy_header(shape);
    write_file_atomically(path, [&](AtomicFile& file) {
        file.write(header);
        detail::write_f32_little_endian(file, data, count);
    });
}

// Any xtensor expression, evaluated row-major as float: write_npy("x.npy", features).
template <class E>
void write_npy(const std::filesystem::path& path, const xt::xexpression<E>& expression) {
    const xt::xarray<float, xt::layout_type::row_major> array = expression.derived_cast();
    const std::vector<std::size_t> shape(array.shape().begin(), array.shape().end());
    write_npy(path, shape, array.data());
}

inline NpyArray read_npy(const std::filesystem::path& path) {
    const InputFile in(path);
    constexpr std::size_t preamble = 8;  // magic (6), major, minor
    if (in.size() < preamble + 2)
        throw FormatError(path, "the file is " + std::to_string(in.size()) + " bytes, too short for a .npy header");
    unsigned char start[preamble + 4] = {};
    in.read_at(0, start, static_cast<std::size_t>(std::min<std::uint64_t>(sizeof(start), in.size())));
    if (std::string_view(reinterpret_cast<const char*>(start), detail::npy_magic.size()) != detail::npy_magic)
        throw FormatError(path, "does not start with the .npy magic string \\x93NUMPY: not a .npy file");
    const int major = start[6];
    if (major < 1 || major > 3)
        throw FormatError(path, ".npy format version " + std::to_string(major) + "." + std::to_string(start[7]) +
                                    " is not supported (1.0, 2.0 and 3.0 are)");
    const std::size_t length_bytes = major == 1 ? 2 : 4;
    if (in.size() < preamble + length_bytes)
        throw FormatError(path, "the file ends inside the .npy header length");
    const std::uint64_t header_length = length_bytes == 2 ? detail::load_little_endian<std::uint16_t>(start + preamble)
                                                          : detail::load_little_endian<std::uint32_t>(start + preamble);
    const std::uint64_t data_start = preamble + length_bytes + header_length;
    if (data_start > in.size())
        throw FormatError(path, "the header length field says " + std::to_string(header_length) +
                                    " bytes, but the file is only " + std::to_string(in.size()) +
                                    " bytes: truncated");
    std::string header(static_cast<std::size_t>(header_length), '\0');
    in.read_at(preamble + length_bytes, header.data(), header.size());

    const auto fields = detail::NpyHeaderParser(header, path).parse();
    const auto type = detail::npy_element(fields.descr);
    if (!type)
        throw FormatError(path, "dtype '" + fields.descr +
                                    "' is not supported: typenet reads '<f4' (float32), and converts '<f8', '<i4', "
                                    "'<i8' and '|u1' to float; save with arr.astype(np.float32)");
    if (fields.fortran_order)
        throw FormatError(path, "the array is stored in Fortran (column-major) order; only C order is supported: "
                                "save np.ascontiguousarray(arr) instead");

    const std::size_t width = detail::element_size(*type);
    if (!detail::addressable(fields.shape, width))
        throw FormatError(path, "shape " + detail::shape_string(fields.shape) + " of '" + fields.descr +
                                    "' is too large to address (its non-zero dimensions times the element size "
                                    "overflow a signed 64-bit stride; numpy refuses it as well)");
    const auto count = detail::element_count(fields.shape);
    if (!count || *count > (in.size() - data_start) / width + 1)
        throw FormatError(path, "shape " + detail::shape_string(fields.shape) + " needs more data than the file has (" +
                                    std::to_string(in.size() - data_start) + " bytes): truncated");
    const std::uint64_t needed = static_cast<std::uint64_t>(*count) * width;
    if (in.size() - data_start != needed)
        throw FormatError(path, "shape " + detail::shape_string(fields.shape) + " of '" + fields.descr + "' needs " +
                                    std::to_string(needed) + " bytes of data, but the file has " +
                                    std::to_string(in.size() - data_start) +
                                    (in.size() - data_start < needed ? ": truncated" : ": extra bytes at the end"));

    NpyArray array{fields.shape, std::vector<float>(*count)};
    if (*type == detail::Element::f32 && std::endian::native == std::endian::little) {
        in.read_at(data_start, array.values.data(), static_cast<std::size_t>(needed));
    } else {
        std::vector<unsigned char> raw(static_cast<std::size_t>(needed));
        in.read_at(data_start, raw.data(), raw.size());
        detail::decode_to_float(*type, raw.data(), *count, array.values.data());
    }
    return array;
}

inline xt::xarray<float> load_npy_xarray(const std::filesystem::path& path) {
    NpyArray array = read_npy(path);
    xt::xarray<float> result = xt::adapt(array.values, array.shape);
    return result;
}

}  // namespace typenet::io
