// typenet/io/format_error.hpp
// The one exception every typenet file reader throws (safetensors, npy, CSV): the
// file is missing, unreadable, truncated, or not what it claims to be. what() reads
// "<file>: tensor '<name>': <problem>" (the tensor part when one is at fault), so a
// person sees which file to regenerate and why; file() and tensor() give the parts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace typenet::io {

class FormatError : public std::runtime_error {
public:
    FormatError(const std::filesystem::path& file, std::string_view problem)
        : FormatError(file, {}, problem) {}
    FormatError(const std::filesystem::path& file, std::string_view tensor, std::string_view problem)
        : std::runtime_error(compose(file, tensor, problem)), file_(file), tensor_(tensor) {}

    [[nodiscard]] const std::filesystem::path& file() const noexcept { return file_; }
    // The tensor at fault, or "" when the problem is with the file as a whole.
    [[nodiscard]] const std::string& tensor() const noexcept { return tensor_; }

private:
    static std::string compose(const std::filesystem::path& file, std::string_view tensor, std::string_view problem) {
        std::string text = file.string() + ": ";
        if (!tensor.empty()) text += "tensor '" + std::string(tensor) + "': ";
        return text + std::string(problem);
    }

    std::filesystem::path file_;
    std::string tensor_;
};

namespace detail {
// The number of elements of `shape`, or nothing if it overflows.
inline std::optional<std::size_t> element_count(const std::vector<std::size_t>& shape) {
    std::size_t count = 1;
    for (std::size_t d : shape) {
        if (d != 0 && count > std::numeric_limits<std::size_t>::max() / d) return std::nullopt;
        count *= d;
    }
    return count;
}

// Whether an array of `shape` with elements of `width` bytes can be addressed: the
// product of its non-zero dimensions times the width fits a signed 64-bit stride.
// numpy refuses anything else ("array is too big"), even a shape with a zero in it,
// such as (0, 2**62, 4), whose strides would overflow downstream.
inline bool addressable(const std::vector<std::size_t>& shape, std::size_t width) {
    std::uint64_t bytes = width;
    constexpr std::uint64_t limit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    for (std::size_t d : shape) {
        if (d == 0) continue;
        if (bytes > limit / d) return false;
        bytes *= d;
    }
    return bytes <= limit;
}

// Keras's way of printing a shape: (3, 3, 3, 64), (64,), ().
inline std::string shape_string(const std::vector<std::size_t>& shape) {
    std::string text = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + (shape.size() == 1 ? ",)" : ")");
}
}  // namespace detail

}  // namespace typenet::io
