// The IDX reader on files made here (plain and gzip), every error it must name the
// file for, and the real Fashion-MNIST files when the Debian package is installed.
#include <boost/test/unit_test.hpp>

#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "support.hpp"
#include "typenet/data/idx.hpp"

namespace tn = typenet;
using train_test::ScratchDirectory;

namespace {

std::string idx_bytes(const std::vector<std::uint32_t>& dims, const std::vector<std::uint8_t>& values,
                      unsigned char type = 0x08) {
    std::string bytes{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
    for (std::uint32_t d : dims)
        for (int shift = 24; shift >= 0; shift -= 8) bytes += static_cast<char>((d >> shift) & 0xff);
    bytes.append(values.begin(), values.end());
    return bytes;
}

void write_plain(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}

void write_gzip(const std::filesystem::path& path, const std::string& bytes) {
    gzFile file = gzopen(path.c_str(), "wb");
    BOOST_REQUIRE(file != nullptr);
    BOOST_REQUIRE(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
    gzclose(file);
}

template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const tn::io::FormatError& e) {
        return e.what();
    }
    return "no FormatError";
}

const std::vector<std::uint8_t> pixels{0, 51, 102, 255, 1, 2, 3, 4, 10, 20, 30, 40};  // 3 images of 2x2

}  // namespace

BOOST_AUTO_TEST_SUITE(idx)

BOOST_AUTO_TEST_CASE(reads_plain_and_gzip_files) {
    ScratchDirectory dir;
    write_plain(dir / "images", idx_bytes({3, 2, 2}, pixels));
    write_gzip(dir / "images.gz", idx_bytes({3, 2, 2}, pixels));
    write_gzip(dir / "labels.gz", idx_bytes({3}, {7, 0, 9}));
    for (const char* name : {"images", "images.gz"}) {
        const auto images = tn::read_idx_images(dir / name);
        BOOST_TEST(images.shape()[0] == 3u);
        BOOST_TEST(images.shape()[1] == 2u);
        BOOST_TEST(images.shape()[2] == 2u);
        BOOST_TEST(images.shape()[3] == 1u);
        BOOST_TEST(images(0, 0, 1, 0) == 51.0f / 255.0f);
        BOOST_TEST(images(0, 1, 1, 0) == 1.0f);
        BOOST_TEST(images(2, 1, 0, 0) == 30.0f / 255.0f);
    }
    const auto labels = tn::read_idx_labels(dir / "labels.gz");
    BOOST_TEST(std::vector<float>(labels.begin(), labels.end()) == (std::vector<float>{7, 0, 9}),
               boost::test_tools::per_element());
    const auto first_two = tn::read_idx_images(dir / "images.gz", 2);
    BOOST_TEST(first_two.shape()[0] == 2u);
    BOOST_TEST(first_two(1, 0, 0, 0) == 1.0f / 255.0f);
}

BOOST_AUTO_TEST_CASE(damaged_files_are_named_with_their_fault) {
    ScratchDirectory dir;
    const std::string good = idx_bytes({3, 2, 2}, pixels);
    write_gzip(dir / "labels.gz", idx_bytes({3}, {1, 2, 3}));
    write_plain(dir / "truncated", good.substr(0, good.size() - 1));
    write_plain(dir / "trailing", good + "x");
    write_plain(dir / "zero", idx_bytes({0, 2, 2}, {}));
    write_plain(dir / "floats", idx_bytes({3, 2, 2}, pixels, 0x0d));
    write_plain(dir / "tiny", "ab");
    // A gzip stream whose compressed bytes were overwritten in the middle.
    write_gzip(dir / "corrupt.gz", idx_bytes({3, 2, 2}, std::vector<std::uint8_t>(3000, 7)) + std::string(4000, 'q'));
    std::string gz = train_test::read_bytes(dir / "corrupt.gz");
    for (std::size_t i = 12; i < gz.size() - 10; ++i) gz[i] = static_cast<char>(gz[i] ^ 0x5a);
    write_plain(dir / "corrupt.gz", gz);

    struct Case {
        const char* file;
        const char* says;
    };
    for (const Case& c : {Case{"labels.gz", "1 dimensions (labels)"}, Case{"truncated", "truncated"},
                          Case{"trailing", "data after"}, Case{"zero", "dimension 0 is zero"},
                          Case{"floats", "magic number 0x00000d03"}, Case{"tiny", "too short"},
                          Case{"missing", "no such file"}, Case{"corrupt.gz", "cannot read the data"}}) {
        BOOST_TEST_CONTEXT(c.file) {
            const std::string message = error_of([&] { tn::read_idx_images(dir / c.file); });
            BOOST_TEST(message.find((dir / c.file).string()) != std::string::npos, message);
            BOOST_TEST(message.find(c.says) != std::string::npos, message);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
