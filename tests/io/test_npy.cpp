// .npy: files written by NumPy read as NumPy holds them (fixtures and their values
// from tests/fixtures/io/make_npy_fixtures.py), write_npy writes what np.save writes,
// and damaged or unsupported files are refused with a reason.
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xtensor.hpp>

#include "support.hpp"
#include "typenet/io/npy.hpp"

namespace io = typenet::io;
using io::testing::fixture;
using io::testing::message_of;
using io::testing::read_bytes;
using io::testing::ScratchDirectory;
using io::testing::write_bytes;

namespace {

nlohmann::json expected_values() {
    std::ifstream in(fixture("npy_expected.json"));
    return nlohmann::json::parse(in);
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_SUITE(npy)

BOOST_AUTO_TEST_CASE(reads_every_numpy_fixture_as_numpy_holds_it) {
    const auto expected = expected_values();
    BOOST_TEST(expected.size() >= 9u);
    for (const auto& [file, want] : expected.items()) {
        BOOST_TEST_CONTEXT(file) {
            const auto array = io::read_npy(fixture(file));
            BOOST_TEST(array.shape == want.at("shape").get<std::vector<std::size_t>>());
            BOOST_TEST(same_bits(array.values, want.at("values").get<std::vector<float>>()));
        }
    }
}

BOOST_AUTO_TEST_CASE(writes_what_np_save_writes) {
    // The float32 fixtures were written by np.save; the same shape and values must
    // give the same bytes, header padding included.
    const auto expected = expected_values();
    ScratchDirectory dir;
    for (const char* file : {"f4_2x3.npy", "f4_2x3x4.npy", "f4_scalar.npy", "f4_empty.npy"}) {
        const auto& want = expected.at(file);
        const auto values = want.at("values").get<std::vector<float>>();
        io::write_npy(dir / file, want.at("shape").get<std::vector<std::size_t>>(), values.data());
        BOOST_TEST((read_bytes(dir / file) == read_bytes(fixture(file))), file);
    }
}

BOOST_AUTO_TEST_CASE(round_trip_of_an_xtensor_expression) {
    ScratchDirectory dir;
    const xt::xtensor<double, 3> source = xt::linspace<double>(-1.0, 2.0, 24).reshape({2, 3, 4});
    io::write_npy(dir / "x.npy", source * 2.0);  // an expression, converted to float
    const xt::xarray<float> back = io::load_npy_xarray(dir / "x.npy");
    BOOST_TEST((back.shape() == std::vector<std::size_t>{2, 3, 4}));
    const xt::xarray<float> want = xt::cast<float>(source * 2.0);
    BOOST_TEST((back == want));

    // A non-contiguous view is written in C order.
    const xt::xtensor<float, 2> matrix = {{1, 2, 3}, {4, 5, 6}};
    io::write_npy(dir / "t.npy", xt::transpose(matrix));
    const auto transposed = io::read_npy(dir / "t.npy");
    BOOST_TEST((transposed.shape == std::vector<std::size_t>{3, 2}));
    BOOST_TEST((transposed.values == std::vector<float>{1, 4, 2, 5, 3, 6}));
    BOOST_TEST((dir.entries() == std::set<std::string>{"t.npy", "x.npy"}));
}

BOOST_AUTO_TEST_CASE(long_headers_switch_to_format_2) {
    ScratchDirectory dir;
    const std::vector<std::size_t> shape(30000, 1);  // a header of ~90 kB, too long for format 1.0
    const float value = 7.5f;
    io::write_npy(dir / "deep.npy", shape, &value);
    const std::string bytes = read_bytes(dir / "deep.npy");
    BOOST_TEST(static_cast<int>(bytes[6]) == 2);
    std::uint32_t header_length = 0;
    std::memcpy(&header_length, bytes.data() + 8, 4);
    BOOST_TEST((12 + header_length) % 64 == 0u);
    const auto back = io::read_npy(dir / "deep.npy");
    BOOST_TEST(back.shape == shape);
    BOOST_TEST((back.values == std::vector<float>{7.5f}));
}

BOOST_AUTO_TEST_CASE(fortran_order_is_refused_saying_so) {
    const auto message = message_of<io::FormatError>([] { io::read_npy(fixture("f4_fortran.npy")); });
    BOOST_TEST(contains(message, "f4_fortran.npy"), message);
    BOOST_TEST(contains(message, "Fortran (column-major) order; only C order is supported"), message);
}

BOOST_AUTO_TEST_CASE(unsupported_dtypes_say_which) {
    auto message = message_of<io::FormatError>([] { io::read_npy(fixture("big_endian_f4.npy")); });
    BOOST_TEST(contains(message, "dtype '>f4' is not supported"), message);
    message = message_of<io::FormatError>([] { io::read_npy(fixture("f2_3.npy")); });
    BOOST_TEST(contains(message, "dtype '<f2' is not supported"), message);
}

BOOST_AUTO_TEST_CASE(damaged_files) {
    ScratchDirectory dir;
    const std::string good = read_bytes(fixture("f4_2x3.npy"));
    auto error_for = [&](const std::string& bytes) {
        write_bytes(dir / "bad.npy", bytes);
        return message_of<io::FormatError>([&] { io::read_npy(dir / "bad.npy"); });
    };
    auto message = error_for("PK\x03\x04 not numpy at all");
    BOOST_TEST(contains(message, "bad.npy: does not start with the .npy magic string"), message);
    message = error_for(good.substr(0, 4));
    BOOST_TEST(contains(message, "too short"), message);
    message = error_for(good.substr(0, 60));
    BOOST_TEST(contains(message, "truncated"), message);
    message = error_for(good.substr(0, good.size() - 1));
    BOOST_TEST(contains(message, "needs 24 bytes of data, but the file has 23: truncated"), message);
    message = error_for(good + "xx");
    BOOST_TEST(contains(message, "extra bytes at the end"), message);
    std::string version9 = good;
    version9[6] = 9;
    message = error_for(version9);
    BOOST_TEST(contains(message, "format version 9.0 is not supported"), message);
    std::string bad_shape = good;
    bad_shape.replace(bad_shape.find("(2, 3)"), 6, "(2, x)");
    message = error_for(bad_shape);
    BOOST_TEST(contains(message, "malformed .npy header (shape must be a tuple of non-negative integers)"), message);
    std::string bad_key = good;
    bad_key.replace(bad_key.find("'descr'"), 7, "'dtype'");
    message = error_for(bad_key);
    BOOST_TEST(contains(message, "unexpected key 'dtype'"), message);
    message = message_of<io::FormatError>([&] { io::read_npy(dir / "missing.npy"); });
    BOOST_TEST(contains(message, "No such file or directory"), message);
}

BOOST_AUTO_TEST_CASE(a_failed_write_keeps_the_previous_file) {
    ScratchDirectory dir;
    const float values[2] = {1.0f, 2.0f};
    io::write_npy(dir / "a.npy", {2}, values);
    const std::string before = read_bytes(dir / "a.npy");
    BOOST_CHECK_THROW(io::write_npy(dir / "a.npy", {2}, nullptr), std::invalid_argument);
    BOOST_TEST(read_bytes(dir / "a.npy") == before);
    std::filesystem::create_directory(dir / "dir.npy");
    BOOST_CHECK_THROW(io::write_npy(dir / "dir.npy", {2}, values), std::filesystem::filesystem_error);
    BOOST_TEST((dir.entries() == std::set<std::string>{"a.npy", "dir.npy"}));
}

BOOST_AUTO_TEST_SUITE_END()
