// typenet/data/idx.hpp
// The IDX format of MNIST and Fashion-MNIST (gzip-compressed or plain: zlib reads both):
//
//   4 bytes   magic: 0x00, 0x00, a type code (0x08 = unsigned byte), the number of dimensions
//   4 bytes   per dimension, big-endian
//   rest      the values, row-major, one byte each
//
// Images are magic 0x00000803 (count, rows, cols), labels 0x00000801 (count). Every
// error is an io::FormatError naming the file: wrong magic, a dimension of zero, data
// shorter or longer than the header says, a damaged gzip stream. Memory follows the
// bytes present, never the header's claim: a plain file's size is checked against the
// header before anything is allocated, a gzip stream is read into a buffer that grows
// as data arrives (a 32-byte .gz claiming 16 GiB fails as truncated within 1 MiB).
//
//   auto data = tn::load_fashion_mnist();        // /usr/share/datasets/fashion-mnist
//   data.train_images   // (60000, 28, 28, 1) floats in [0, 1]
//   data.train_labels   // (60000) class indices 0..9, names in fashion_mnist_classes
#pragma once

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "typenet/io/format_error.hpp"

namespace typenet {

// The raw contents of an IDX file of unsigned bytes.
struct IdxArray {
    std::vector<std::size_t> dims;
    std::vector<std::uint8_t> values;
};

namespace detail {

// Data is read in steps of this size at first, then of the size already read, so a
// damaged header's claim (up to 16 GiB) never becomes one allocation.
inline constexpr std::size_t idx_read_chunk = std::size_t{1} << 20;

class GzFile {
public:
    explicit GzFile(const std::filesystem::path& path) : path_(path), file_(gzopen(path.c_str(), "rb")) {
        if (file_ == nullptr) {
            std::error_code ignored;
            throw io::FormatError(path_, std::filesystem::exists(path_, ignored) ? "cannot open the file"
                                                                                  : "no such file");
        }
        // zlib reads a file without the gzip magic as it is; its size then bounds the data.
        std::error_code error;
        const auto size = std::filesystem::file_size(path_, error);
        plain_size_ = error ? 0 : size;
        if (!error) {
            unsigned char magic[2] = {0, 0};
            if (std::FILE* raw = std::fopen(path_.c_str(), "rb")) {
                compressed_ = std::fread(magic, 1, 2, raw) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
                std::fclose(raw);
            }
        } else {
            compressed_ = true;  // unknown size: read as a stream
        }
    }
    GzFile(const GzFile&) = delete;
    GzFile& operator=(const GzFile&) = delete;
    ~GzFile() { gzclose(file_); }

    // Up to `count` bytes; fewer only at the end of the data.
    std::size_t read(void* destination, std::size_t count) {
        auto* out = static_cast<unsigned char*>(destination);
        std::size_t done = 0;
        while (done < count) {
            const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(count - done, 1u << 30));
            const int got = gzread(file_, out + done, chunk);
            if (got < 0) {
                int code = 0;
                const char* message = gzerror(file_, &code);
                throw io::FormatError(path_, std::string("cannot read the data (") + (message ? message : "zlib error") +
                                                 "): the file is damaged or not gzip/IDX");
            }
            if (got == 0) break;
            done += static_cast<std::size_t>(got);
        }
        return done;
    }

    [[nodiscard]] bool compressed() const { return compressed_; }
    [[nodiscard]] std::uintmax_t plain_size() const { return plain_size_; }

private:
    std::filesystem::path path_;
    gzFile file_;
    bool compressed_ = true;
    std::uintmax_t plain_size_ = 0;
};

inline std::string hex32(std::uint32_t value) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string text = "0x";
    for (int shift = 28; shift >= 0; shift -= 4) text += digits[(value >> shift) & 0xf];
    return text;
}

inline std::uint32_t big_endian_u32(const unsigned char* bytes) {
    return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) | (std::uint32_t{bytes[2]} << 8) |
           std::uint32_t{bytes[3]};
}

}  // namespace detail

// Reads an IDX file of unsigned bytes with `rank` dimensions. With `limit`, only the
// first `limit` entries of the first axis are read (the rest of the file is not checked).
inline IdxArray read_idx(const std::filesystem::path& path, std::size_t rank,
                         std::size_t limit = std::numeric_limits<std::size_t>::max()) {
    detail::GzFile file(path);
    unsigned char magic[4];
    if (file.read(magic, 4) != 4) throw io::FormatError(path, "too short for an IDX file (no 4-byte magic number)");
    const std::uint32_t expected = 0x00000800u | static_cast<std::uint32_t>(rank);
    const std::uint32_t found = detail::big_endian_u32(magic);
    if (found != expected) {
        std::string what = "magic number " + detail::hex32(found) + ", expected " + detail::hex32(expected) +
                           " (IDX of unsigned bytes with " + std::to_string(rank) + " dimension" +
                           (rank == 1 ? "" : "s") + ")";
        if (magic[0] == 0 && magic[1] == 0 && magic[2] == 0x08 && magic[3] != rank)
            what += ": this file has " + std::to_string(magic[3]) + " dimensions (" +
                    (magic[3] == 1 ? "labels" : magic[3] == 3 ? "images" : "another kind of data") + ")";
        throw io::FormatError(path, what);
    }
    IdxArray array;
    std::size_t total = 1;
    for (std::size_t d = 0; d < rank; ++d) {
        unsigned char bytes[4];
        if (file.read(bytes, 4) != 4) throw io::FormatError(path, "truncated header (dimension " + std::to_string(d) + ")");
        const std::size_t dim = detail::big_endian_u32(bytes);
        if (dim == 0) throw io::FormatError(path, "dimension " + std::to_string(d) + " is zero");
        array.dims.push_back(dim);
        if (total > (std::size_t{1} << 34) / dim)
            throw io::FormatError(path, "header claims more than 16 GiB of data: the header is damaged");
        total *= dim;
    }
    const std::size_t full_count = array.dims[0];
    const std::size_t item = total / full_count;
    const std::size_t count = std::min(limit, full_count);
    array.dims[0] = count;
    const std::size_t wanted = count * item;
    const auto truncated = [&](std::size_t got) {
        return io::FormatError(path, "truncated: the data ends after " + std::to_string(got) +
                                         " bytes, the header announces " + std::to_string(full_count * item));
    };
    // A plain file's size is known: a header claiming more than is there is refused
    // before anything is allocated.
    if (!file.compressed()) {
        const std::uint64_t header = 4 + 4 * static_cast<std::uint64_t>(rank);
        const std::uint64_t present = file.plain_size() > header ? file.plain_size() - header : 0;
        if (present < wanted) throw truncated(static_cast<std::size_t>(present));
    }
    // A gzip stream's size is not: the buffer grows as data arrives (a first step of
    // idx_read_chunk, then doubling), so memory follows the bytes actually there, not
    // the header's claim.
    array.values.reserve(std::min(wanted, detail::idx_read_chunk));
    while (array.values.size() < wanted) {
        const std::size_t before = array.values.size();
        const std::size_t step = std::min(wanted - before, std::max(before, detail::idx_read_chunk));
        array.values.resize(before + step);
        const std::size_t got = file.read(array.values.data() + before, step);
        if (got != step) throw truncated(before + got);
    }
    if (count == full_count) {
        unsigned char extra;
        if (file.read(&extra, 1) != 0)
            throw io::FormatError(path, "has data after the " + std::to_string(total) +
                                            " bytes its header announces: not a single IDX array");
    }
    return array;
}

// Images (count, rows, cols) as floats (count, rows, cols, 1) in [0, 1] (pixel / 255).
inline xt::xtensor<float, 4> read_idx_images(const std::filesystem::path& path,
                                             std::size_t limit = std::numeric_limits<std::size_t>::max()) {
    const IdxArray raw = read_idx(path, 3, limit);
    xt::xtensor<float, 4> images = xt::xtensor<float, 4>::from_shape({raw.dims[0], raw.dims[1], raw.dims[2], 1});
    for (std::size_t i = 0; i < raw.values.size(); ++i) images.data()[i] = static_cast<float>(raw.values[i]) / 255.0f;
    return images;
}

// Labels (count) as floats (class indices for sparse categorical losses).
inline xt::xtensor<float, 1> read_idx_labels(const std::filesystem::path& path,
                                             std::size_t limit = std::numeric_limits<std::size_t>::max()) {
    const IdxArray raw = read_idx(path, 1, limit);
    xt::xtensor<float, 1> labels = xt::xtensor<float, 1>::from_shape({raw.dims[0]});
    for (std::size_t i = 0; i < raw.values.size(); ++i) labels.data()[i] = static_cast<float>(raw.values[i]);
    return labels;
}

// ---- Fashion-MNIST (Debian package dataset-fashion-mnist) -------------------------------

inline constexpr std::array<std::string_view, 10> fashion_mnist_classes{
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

// Where the dataset lives: $TYPENET_FASHION_MNIST if set, else the Debian package's folder.
inline std::filesystem::path fashion_mnist_dir() {
    if (const char* dir = std::getenv("TYPENET_FASHION_MNIST"); dir != nullptr && *dir != '\0') return dir;
    return "/usr/share/datasets/fashion-mnist";
}

inline bool fashion_mnist_available(const std::filesystem::path& dir = fashion_mnist_dir()) {
    std::error_code ignored;
    for (const char* name : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                             "t10k-labels-idx1-ubyte.gz"})
        if (!std::filesystem::is_regular_file(dir / name, ignored)) return false;
    return true;
}

struct FashionMnist {
    xt::xtensor<float, 4> train_images;  // (60000, 28, 28, 1), [0, 1]
    xt::xtensor<float, 1> train_labels;  // (60000), 0..9
    xt::xtensor<float, 4> test_images;   // (10000, 28, 28, 1)
    xt::xtensor<float, 1> test_labels;   // (10000)
};

namespace detail {
inline void check_pair(const std::filesystem::path& images_path, const xt::xtensor<float, 4>& images,
                       const std::filesystem::path& labels_path, const xt::xtensor<float, 1>& labels) {
    if (images.shape()[1] != 28 || images.shape()[2] != 28)
        throw io::FormatError(images_path, "images are " + std::to_string(images.shape()[1]) + "x" +
                                               std::to_string(images.shape()[2]) + ", Fashion-MNIST's are 28x28");
    if (images.shape()[0] != labels.shape()[0])
        throw io::FormatError(labels_path, "holds " + std::to_string(labels.shape()[0]) + " labels for the " +
                                               std::to_string(images.shape()[0]) + " images of " + images_path.string());
    for (std::size_t i = 0; i < labels.size(); ++i)
        if (labels(i) > 9.0f)
            throw io::FormatError(labels_path, "label " + std::to_string(i) + " is " +
                                                   std::to_string(static_cast<int>(labels(i))) +
                                                   ", Fashion-MNIST has classes 0..9");
}
}  // namespace detail

// The four files of the dataset; the limits keep the first N training / test images.
inline FashionMnist load_fashion_mnist(const std::filesystem::path& dir = fashion_mnist_dir(),
                                       std::size_t train_limit = std::numeric_limits<std::size_t>::max(),
                                       std::size_t test_limit = std::numeric_limits<std::size_t>::max()) {
    FashionMnist data;
    const auto train_images = dir / "train-images-idx3-ubyte.gz", train_labels = dir / "train-labels-idx1-ubyte.gz";
    const auto test_images = dir / "t10k-images-idx3-ubyte.gz", test_labels = dir / "t10k-labels-idx1-ubyte.gz";
    data.train_images = read_idx_images(train_images, train_limit);
    data.train_labels = read_idx_labels(train_labels, train_limit);
    detail::check_pair(train_images, data.train_images, train_labels, data.train_labels);
    data.test_images = read_idx_images(test_images, test_limit);
    data.test_labels = read_idx_labels(test_labels, test_limit);
    detail::check_pair(test_images, data.test_images, test_labels, data.test_labels);
    return data;
}

}  // namespace typenet
