// typenet/io/safetensors.hpp
// Named float tensors in the safetensors format (weights of models, docs/weights.md):
//
//   8 bytes   N, little-endian u64: the length of the header
//   N bytes   JSON {"<name>": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
//                   ..., "__metadata__": {"<key>": "<value>", ...}}, padded with spaces to
//                   a multiple of 8 (as the reference implementation does)
//   rest      the tensors' raw little-endian bytes; offsets count from the byte after
//             the header, and the tensors tile the rest exactly (no holes, no overlap)
//
// Contract:
//   write_safetensors(path, tensors, metadata)
//       Writes F32 tensors in the given order, atomically (io/atomic_file.hpp): the old
//       file stays whole if anything fails. Throws std::invalid_argument for a duplicate
//       or reserved name, or values that do not fill the shape; filesystem_error for
//       OS errors.
//   read_safetensors(path) -> tensors in file order (by data offset)
//       Strict: throws FormatError (io/format_error.hpp), naming the file and the tensor,
//       for a file shorter than 8 bytes, an absurd or too-long header length, invalid
//       JSON, duplicate names, malformed entries, a dtype other than F32/F16/BF16/F64
//       (these are converted to float), a shape whose size differs from its byte range,
//       offsets out of range, overlapping or leaving holes, or bytes after the last
//       tensor. Files written by the Python `safetensors` package read as they are.
//   read_safetensors_metadata(path) -> the "__metadata__" map ({} when absent); checks
//       the header as strictly as read_safetensors, but reads no tensor data.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "typenet/io/atomic_file.hpp"
#include "typenet/io/format_error.hpp"
#include "typenet/io/input_file.hpp"
#include "typenet/io/little_endian.hpp"

namespace typenet::io {

struct TensorData {
    std::string name;
    std::vector<std::size_t> shape;
    std::vector<float> values;
};

namespace detail {

inline constexpr std::string_view safetensors_metadata_key = "__metadata__";
// The reference implementation refuses headers above 100 MB; a larger length is a
// corrupted or foreign file, and we must not allocate it.
inline constexpr std::uint64_t safetensors_max_header = 100'000'000;
// A safetensors header nests 3 deep ({"name": {"shape": [...]}}); anything far deeper is
// corrupted or hostile, and is refused before the JSON parser or an error message
// (json::dump recurses) walks it: 75,000 levels would overflow the stack.
inline constexpr std::size_t safetensors_max_depth = 16;
// What error messages quote of a JSON value: enough to recognise it, never megabytes.
inline constexpr std::size_t json_quote_limit = 80;

// The JSON text of `value` for an error message, cut to json_quote_limit characters.
// (Only called on values of a header whose depth was already bounded.)
template <class Json>
std::string quote_json(const Json& value) {
    std::string text = value.dump();
    if (text.size() > json_quote_limit) text = text.substr(0, json_quote_limit) + "... (" + std::to_string(text.size()) + " characters)";
    return text;
}

// The first byte where brackets ({ or [, outside strings) nest deeper than `limit`, or
// nothing: a flat scan, so hostile depth costs no stack.
inline std::optional<std::size_t> json_too_deep_at(std::string_view text, std::size_t limit) {
    std::size_t depth = 0;
    bool in_string = false, escaped = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > limit) return i;
        } else if ((c == '}' || c == ']') && depth > 0) {
            --depth;
        }
    }
    return std::nullopt;
}

struct SafetensorsEntry {
    std::string name;
    Element type;
    std::string dtype;
    std::vector<std::size_t> shape;
    std::uint64_t begin;
    std::uint64_t end;
};

struct SafetensorsHeader {
    std::uint64_t data_start;  // 8 + N
    std::vector<SafetensorsEntry> entries;  // sorted by offset
    std::map<std::string, std::string> metadata;
};

inline std::optional<Element> safetensors_dtype(const std::string& dtype) {
    if (dtype == "F32") return Element::f32;
    if (dtype == "F16") return Element::f16;
    if (dtype == "BF16") return Element::bf16;
    if (dtype == "F64") return Element::f64;
    return std::nullopt;
}

inline std::uint64_t json_unsigned(const nlohmann::json& value, const std::filesystem::path& file,
                                   const std::string& tensor, const char* what) {
    if (!value.is_number_unsigned())
        throw FormatError(file, tensor, std::string(what) + " must be non-negative integers, found " + quote_json(value));
    return value.get<std::uint64_t>();
}

inline SafetensorsEntry parse_entry(const std::string& name, const nlohmann::json& entry,
                                    const std::filesystem::path& file) {
    if (!entry.is_object())
        throw FormatError(file, name, "the header entry must be an object with dtype, shape and data_offsets, found " +
                                          quote_json(entry));
    for (const char* key : {"dtype", "shape", "data_offsets"})
        if (!entry.contains(key)) throw FormatError(file, name, std::string("the header entry has no \"") + key + "\"");

    SafetensorsEntry parsed;
    parsed.name = name;
    const auto& dtype = entry.at("dtype");
    if (!dtype.is_string()) throw FormatError(file, name, "dtype must be a string, found " + quote_json(dtype));
    parsed.dtype = dtype.get<std::string>();
    const auto type = safetensors_dtype(parsed.dtype);
    if (!type)
        throw FormatError(file, name, "dtype " + parsed.dtype +
                                          " is not supported: typenet reads F32 (and converts F16, BF16, F64 to "
                                          "float); convert the tensor to float32 before saving");
    parsed.type = *type;

    const auto& shape = entry.at("shape");
    if (!shape.is_array()) throw FormatError(file, name, "shape must be an array, found " + quote_json(shape));
    for (const auto& d : shape) parsed.shape.push_back(static_cast<std::size_t>(json_unsigned(d, file, name, "shape entries")));

    const auto& offsets = entry.at("data_offsets");
    if (!offsets.is_array() || offsets.size() != 2)
        throw FormatError(file, name, "data_offsets must be [begin, end], found " + quote_json(offsets));
    parsed.begin = json_unsigned(offsets[0], file, name, "data_offsets");
    parsed.end = json_unsigned(offsets[1], file, name, "data_offsets");
    if (parsed.end < parsed.begin)
        throw FormatError(file, name, "data_offsets [" + std::to_string(parsed.begin) + ", " +
                                          std::to_string(parsed.end) + "] end before they begin");

    if (!addressable(parsed.shape, element_size(parsed.type)))
        throw FormatError(file, name, "shape " + shape_string(parsed.shape) +
                                          " is too large to address (its non-zero dimensions times the element "
                                          "size overflow a signed 64-bit stride), even if it holds no elements");
    const auto count = element_count(parsed.shape);
    const std::uint64_t bytes = parsed.end - parsed.begin;
    const std::uint64_t width = element_size(parsed.type);
    const bool representable = count && *count <= std::numeric_limits<std::uint64_t>::max() / width;
    if (!representable || *count * width != bytes) {
        throw FormatError(file, name, "shape " + shape_string(parsed.shape) + " of " + parsed.dtype + " needs " +
                                          (representable ? std::to_string(*count * width) : "too many") +
                                          " bytes, but data_offsets [" + std::to_string(parsed.begin) + ", " +
                                          std::to_string(parsed.end) + "] hold " + std::to_string(bytes));
    }
    return parsed;
}

// Reads and checks the whole header: after this, every tensor's bytes are known to
// lie inside the file, one after the other, and to match its shape and dtype.
inline SafetensorsHeader read_safetensors_header(const InputFile& in) {
    const auto& file = in.path();
    if (in.size() < 8)
        throw FormatError(file, "the file is " + std::to_string(in.size()) +
                                    " bytes, too short for the 8-byte header length: not a safetensors file, or "
                                    "truncated");
    unsigned char length_bytes[8];
    in.read_at(0, length_bytes, 8);
    const auto header_length = load_little_endian<std::uint64_t>(length_bytes);
    if (header_length > safetensors_max_header)
        throw FormatError(file, "the header length field says " + std::to_string(header_length) +
                                    " bytes, over the 100 MB limit: not a safetensors file, or corrupted");
    if (header_length > in.size() - 8)
        throw FormatError(file, "the header length field says " + std::to_string(header_length) +
                                    " bytes, but only " + std::to_string(in.size() - 8) +
                                    " follow it: the file is truncated or not a safetensors file");

    std::string text(static_cast<std::size_t>(header_length), '\0');
    in.read_at(8, text.data(), text.size());
    if (text.empty() || text.front() != '{')
        throw FormatError(file, "the header does not start with '{': not a safetensors file, or corrupted");

    // JSON objects may repeat a key and parsers keep the last: a file with two
    // tensors of one name is ambiguous, so it is refused.
    std::set<std::string> seen;
    std::string duplicate;
    const nlohmann::json::parser_callback_t watch_keys = [&](int depth, nlohmann::json::parse_event_t event,
                                                             nlohmann::json& value) {
        if (depth == 1 && event == nlohmann::json::parse_event_t::key && duplicate.empty() &&
            !seen.insert(value.get<std::string>()).second)
            duplicate = value.get<std::string>();
        return true;
    };
    if (const auto at = json_too_deep_at(text, safetensors_max_depth))
        throw FormatError(file, "the header nests JSON more than " + std::to_string(safetensors_max_depth) +
                                    " levels deep (at byte " + std::to_string(8 + *at) +
                                    "); a safetensors header needs 3: corrupted or not a safetensors file");
    nlohmann::json header;
    try {
        header = nlohmann::json::parse(text, watch_keys);
    } catch (const nlohmann::json::exception& error) {  // parse_error, and out_of_range for huge numbers
        throw FormatError(file, "the header is not valid JSON: " + std::string(error.what()).substr(0, 200));
    }
    if (!duplicate.empty()) throw FormatError(file, duplicate, "appears twice in the header");
    if (!header.is_object()) throw FormatError(file, "the header must be a JSON object, found " + quote_json(header));

    SafetensorsHeader result;
    result.data_start = 8 + header_length;
    for (const auto& [key, value] : header.items()) {
        if (key == safetensors_metadata_key) {
            if (!value.is_object())
                throw FormatError(file, "__metadata__ must be an object of strings, found " + quote_json(value));
            for (const auto& [meta_key, meta_value] : value.items()) {
                if (!meta_value.is_string())
                    throw FormatError(file, "__metadata__ value of '" + meta_key + "' must be a string, found " +
                                                quote_json(meta_value));
                result.metadata.emplace(meta_key, meta_value.get<std::string>());
            }
            continue;
        }
        result.entries.push_back(parse_entry(key, value, file));
    }

    // The tensors must tile the data section: sorted by offset, each starts where the
    // one before ended, the first at 0 and the last at the end of the file. Ties fall back
    // to the name, so an error names the same tensors whatever the header's order (and no
    // std::stable_sort, whose buffer clang 19 warns about in libstdc++ 12).
    std::sort(result.entries.begin(), result.entries.end(), [](const auto& a, const auto& b) {
        return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
    });
    const std::uint64_t data_size = in.size() - result.data_start;
    std::uint64_t expected = 0;
    const SafetensorsEntry* previous = nullptr;
    for (const auto& entry : result.entries) {
        const std::string range = "[" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) + "]";
        if (entry.end > data_size)
            throw FormatError(file, entry.name, "data_offsets " + range + " run past the end of the data (" +
                                                    std::to_string(data_size) + " bytes): the file is truncated");
        if (entry.begin < expected)
            throw FormatError(file, entry.name, "data_offsets " + range + " overlap tensor '" + previous->name +
                                                    "', which ends at " + std::to_string(expected));
        if (entry.begin > expected)
            throw FormatError(file, entry.name, "data_offsets " + range + " leave a hole of " +
                                                    std::to_string(entry.begin - expected) + " bytes after " +
                                                    (previous ? "tensor '" + previous->name + "'" : "the header"));
        expected = entry.end;
        previous = &entry;
    }
    if (expected != data_size)
        throw FormatError(file, std::to_string(data_size - expected) + " bytes follow the last tensor's data (the " +
                                    "file is " + std::to_string(in.size()) + " bytes, the header accounts for " +
                                    std::to_string(result.data_start + expected) + "): corrupted or not safetensors");
    return result;
}

}  // namespace detail

inline void write_safetensors(const std::filesystem::path& path, const std::vector<TensorData>& tensors,
                              const std::map<std::string, std::string>& metadata = {}) {
    // Check everything before touching the disk.
    std::set<std::string_view> names;
    for (const auto& tensor : tensors) {
        if (tensor.name.empty() || tensor.name == detail::safetensors_metadata_key)
            throw std::invalid_argument("write_safetensors(" + path.string() + "): '" + tensor.name +
                                        "' cannot name a tensor");
        if (!names.insert(tensor.name).second)
            throw std::invalid_argument("write_safetensors(" + path.string() + "): two tensors are named '" +
                                        tensor.name + "'");
        const auto count = detail::element_count(tensor.shape);
        if (!count || *count != tensor.values.size())
            throw std::invalid_argument("write_safetensors(" + path.string() + "): tensor '" + tensor.name +
                                        "' has shape " + detail::shape_string(tensor.shape) + " but " +
                                        std::to_string(tensor.values.size()) + " values");
    }

    // ordered_json keeps the insertion order: metadata first, then the tensors in the
    // order of their data, as the reference writer lays them out.
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty()) header[std::string(detail::safetensors_metadata_key)] = metadata;
    std::uint64_t offset = 0;
    for (const auto& tensor : tensors) {
        const std::uint64_t bytes = tensor.values.size() * sizeof(float);
        header[tensor.name] = {{"dtype", "F32"}, {"shape", tensor.shape}, {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned

    std::string prefix;
    detail::append_unsigned_little_endian(prefix, text.size(), 8);
    write_file_atomically(path, [&](AtomicFile& file) {
        file.write(prefix);
        file.write(text);
        for (const auto& tensor : tensors) detail::write_f32_little_endian(file, tensor.values.data(), tensor.values.size());
    });
}

inline std::vector<TensorData> read_safetensors(const std::filesystem::path& path) {
    const InputFile in(path);
    const auto header = detail::read_safetensors_header(in);
    std::vector<TensorData> tensors;
    tensors.reserve(header.entries.size());
    std::vector<unsigned char> raw;
    for (const auto& entry : header.entries) {
        TensorData tensor{entry.name, entry.shape, {}};
        const std::size_t bytes = static_cast<std::size_t>(entry.end - entry.begin);
        tensor.values.resize(bytes / detail::element_size(entry.type));
        if (entry.type == detail::Element::f32 && std::endian::native == std::endian::little) {
            in.read_at(header.data_start + entry.begin, tensor.values.data(), bytes);
        } else {
            raw.resize(bytes);
            in.read_at(header.data_start + entry.begin, raw.data(), bytes);
            detail::decode_to_float(entry.type, raw.data(), tensor.values.size(), tensor.values.data());
        }
        tensors.push_back(std::move(tensor));
    }
    return tensors;
}

inline std::map<std::string, std::string> read_safetensors_metadata(const std::filesystem::path& path) {
    const InputFile in(path);
    return detail::read_safetensors_header(in).metadata;
}

}  // namespace typenet::io
