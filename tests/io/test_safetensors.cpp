// safetensors: bit-exact round trips, agreement with the reference implementation
// (fixtures made by the Python `safetensors` package, see
// tests/fixtures/io/make_safetensors_fixtures.py), and every way a file can be damaged.
#include <boost/test/unit_test.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support.hpp"
#include "typenet/io/safetensors.hpp"

namespace io = typenet::io;
using io::testing::fixture;
using io::testing::message_of;
using io::testing::read_bytes;
using io::testing::ScratchDirectory;
using io::testing::write_bytes;

namespace {

std::string length_prefix(std::uint64_t length) {
    std::string bytes;
    for (int b = 0; b < 8; ++b) bytes.push_back(static_cast<char>((length >> (8 * b)) & 0xff));
    return bytes;
}

// A file with exactly this header text and data bytes, for handcrafted damage.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
    return length_prefix(header.size()) + header + data;
}

std::string float_bytes(std::size_t count) {
    std::string bytes(count * 4, '\0');
    for (std::size_t i = 0; i < count; ++i) {
        const float v = static_cast<float>(i) + 0.5f;
        std::memcpy(bytes.data() + 4 * i, &v, 4);
    }
    return bytes;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

// The FormatError message for a file with these contents.
std::string read_error(const ScratchDirectory& dir, const std::string& bytes) {
    const auto path = dir / "damaged.safetensors";
    write_bytes(path, bytes);
    return message_of<io::FormatError>([&] { io::read_safetensors(path); });
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

nlohmann::json expected_values() {
    std::ifstream in(fixture("safetensors_expected.json"));
    return nlohmann::json::parse(in);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(safetensors)

BOOST_AUTO_TEST_CASE(round_trip_is_bit_identical_in_the_given_order) {
    ScratchDirectory dir;
    const float nan_with_payload = std::bit_cast<float>(std::uint32_t{0x7fc01234});
    std::vector<io::TensorData> tensors{
        {"z_first", {2, 3}, {-0.0f, 1e-45f, std::numeric_limits<float>::infinity(), nan_with_payload, 3.4e38f, -1.25f}},
        {"a_second", {4}, {0.1f, 0.2f, 0.3f, 0.4f}},
        {"scalar", {}, {42.0f}},
        {"empty", {0, 7}, {}},
        {"block1_conv1/kernel", {3, 3, 2, 4}, std::vector<float>(72)},
    };
    for (std::size_t i = 0; i < 72; ++i) tensors[4].values[i] = std::sin(static_cast<float>(i)) * 1e-3f;
    const std::map<std::string, std::string> metadata{{"format", "typenet"}, {"note", "quotes \" and \\ kept"}};
    io::write_safetensors(dir / "t.safetensors", tensors, metadata);

    const auto back = io::read_safetensors(dir / "t.safetensors");
    BOOST_TEST_REQUIRE(back.size() == tensors.size());
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        BOOST_TEST(back[i].name == tensors[i].name);
        BOOST_TEST(back[i].shape == tensors[i].shape);
        BOOST_TEST(same_bits(back[i].values, tensors[i].values), tensors[i].name);
    }
    BOOST_TEST((io::read_safetensors_metadata(dir / "t.safetensors") == metadata));
    BOOST_TEST((dir.entries() == std::set<std::string>{"t.safetensors"}));
}

BOOST_AUTO_TEST_CASE(header_is_padded_to_eight_bytes_with_spaces) {
    ScratchDirectory dir;
    io::write_safetensors(dir / "t.safetensors", {{"x", {1}, {1.0f}}});
    const std::string bytes = read_bytes(dir / "t.safetensors");
    std::uint64_t length = 0;
    std::memcpy(&length, bytes.data(), 8);
    BOOST_TEST(length % 8 == 0u);
    BOOST_TEST(bytes.size() == 8 + length + 4);
    const std::string header = bytes.substr(8, length);
    BOOST_TEST(header.find_last_not_of(' ') == header.rfind('}'));
}

BOOST_AUTO_TEST_CASE(writes_the_same_bytes_as_the_reference_implementation) {
    // Same tensors, in the reference's order (by name for one dtype), same metadata.
    const auto expected = expected_values().at("reference_f32.safetensors");
    std::vector<io::TensorData> tensors;
    for (const auto& [name, tensor] : expected.at("tensors").items())
        tensors.push_back({name, tensor.at("shape").get<std::vector<std::size_t>>(),
                           tensor.at("values").get<std::vector<float>>()});
    ScratchDirectory dir;
    io::write_safetensors(dir / "mine.safetensors", tensors,
                          expected.at("metadata").get<std::map<std::string, std::string>>());
    BOOST_TEST((read_bytes(dir / "mine.safetensors") == read_bytes(fixture("reference_f32.safetensors"))));
}

BOOST_AUTO_TEST_CASE(reads_files_of_the_reference_implementation) {
    const auto expected = expected_values();
    for (const char* file : {"reference_f32.safetensors", "reference_mixed.safetensors"}) {
        const auto tensors = io::read_safetensors(fixture(file));
        const auto& want = expected.at(file).at("tensors");
        BOOST_TEST(tensors.size() == want.size(), file);
        for (const auto& tensor : tensors) {
            BOOST_TEST_CONTEXT(file << " " << tensor.name) {
                BOOST_TEST_REQUIRE(want.contains(tensor.name));
                BOOST_TEST(tensor.shape == want.at(tensor.name).at("shape").get<std::vector<std::size_t>>());
                // F16, BF16, F64 converted exactly as NumPy's astype(float32) does.
                BOOST_TEST(same_bits(tensor.values, want.at(tensor.name).at("values").get<std::vector<float>>()));
            }
        }
        BOOST_TEST((io::read_safetensors_metadata(fixture(file)) ==
                    expected.at(file).at("metadata").get<std::map<std::string, std::string>>()));
    }
    // File order is data order: the reference puts F64 first in the mixed file.
    const auto mixed = io::read_safetensors(fixture("reference_mixed.safetensors"));
    BOOST_TEST(mixed.front().name == "f64");
    BOOST_TEST(mixed.back().name == "f16");
}

BOOST_AUTO_TEST_CASE(unsupported_dtype_says_which) {
    const auto message = message_of<io::FormatError>([] { io::read_safetensors(fixture("reference_i64.safetensors")); });
    BOOST_TEST(contains(message, "reference_i64.safetensors"), message);
    BOOST_TEST(contains(message, "tensor 'counts'"), message);
    BOOST_TEST(contains(message, "dtype I64 is not supported"), message);
}

BOOST_AUTO_TEST_CASE(writer_rejects_bad_tensors_before_touching_the_file) {
    ScratchDirectory dir;
    io::write_safetensors(dir / "w.safetensors", {{"keep", {2}, {1.0f, 2.0f}}});
    const std::string before = read_bytes(dir / "w.safetensors");

    auto message = message_of<std::invalid_argument>([&] {
        io::write_safetensors(dir / "w.safetensors", {{"a", {1}, {1.0f}}, {"a", {1}, {2.0f}}});
    });
    BOOST_TEST(contains(message, "two tensors are named 'a'"), message);
    message = message_of<std::invalid_argument>(
        [&] { io::write_safetensors(dir / "w.safetensors", {{"dense/kernel", {2, 3}, {1.0f, 2.0f}}}); });
    BOOST_TEST(contains(message, "'dense/kernel' has shape (2, 3) but 2 values"), message);
    BOOST_CHECK_THROW(io::write_safetensors(dir / "w.safetensors", {{"__metadata__", {1}, {1.0f}}}),
                      std::invalid_argument);
    BOOST_TEST(read_bytes(dir / "w.safetensors") == before);
    BOOST_TEST((dir.entries() == std::set<std::string>{"w.safetensors"}));
}

BOOST_AUTO_TEST_CASE(a_failed_write_keeps_the_previous_file) {
    ScratchDirectory dir;
    std::filesystem::create_directory(dir / "taken");
    BOOST_CHECK_THROW(io::write_safetensors(dir / "taken", {{"x", {1}, {1.0f}}}), std::filesystem::filesystem_error);
    BOOST_TEST((dir.entries() == std::set<std::string>{"taken"}));
}

BOOST_AUTO_TEST_CASE(missing_file) {
    ScratchDirectory dir;
    const auto message = message_of<io::FormatError>([&] { io::read_safetensors(dir / "nope.safetensors"); });
    BOOST_TEST(contains(message, "nope.safetensors"), message);
    BOOST_TEST(contains(message, "No such file or directory"), message);
}

BOOST_AUTO_TEST_CASE(file_shorter_than_the_length_field) {
    ScratchDirectory dir;
    const auto message = read_error(dir, "abc");
    BOOST_TEST(contains(message, "damaged.safetensors: the file is 3 bytes, too short"), message);
}

BOOST_AUTO_TEST_CASE(absurd_header_length) {
    ScratchDirectory dir;
    const auto message = read_error(dir, length_prefix(std::uint64_t{1} << 40) + "{}");
    BOOST_TEST(contains(message, "1099511627776 bytes, over the 100 MB limit"), message);
}

BOOST_AUTO_TEST_CASE(header_length_past_the_end) {
    ScratchDirectory dir;
    const auto message = read_error(dir, length_prefix(100) + "{}");
    BOOST_TEST(contains(message, "says 100 bytes, but only 2 follow it"), message);
}

BOOST_AUTO_TEST_CASE(not_json) {
    ScratchDirectory dir;
    auto message = read_error(dir, safetensors_bytes("{\"a\": {\"dtype\": \"F32\",", ""));
    BOOST_TEST(contains(message, "the header is not valid JSON"), message);
    message = read_error(dir, safetensors_bytes("[1, 2]  ", ""));
    BOOST_TEST(contains(message, "does not start with '{'"), message);
}

BOOST_AUTO_TEST_CASE(entries_that_are_not_tensor_objects) {
    ScratchDirectory dir;
    auto message = read_error(dir, safetensors_bytes(R"({"w": 5})", ""));
    BOOST_TEST(contains(message, "tensor 'w': the header entry must be an object"), message);
    message = read_error(dir, safetensors_bytes(R"({"w": {"dtype": "F32", "shape": [1]}})", float_bytes(1)));
    BOOST_TEST(contains(message, "tensor 'w': the header entry has no \"data_offsets\""), message);
    message = read_error(dir, safetensors_bytes(R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})",
                                                float_bytes(1)));
    BOOST_TEST(contains(message, "tensor 'w': shape entries must be non-negative integers"), message);
    message = read_error(dir, safetensors_bytes(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})",
                                                float_bytes(1)));
    BOOST_TEST(contains(message, "data_offsets must be [begin, end]"), message);
    message = read_error(dir, safetensors_bytes(R"({"__metadata__": {"epochs": 3}})", ""));
    BOOST_TEST(contains(message, "__metadata__ value of 'epochs' must be a string"), message);
}

BOOST_AUTO_TEST_CASE(duplicate_names) {
    ScratchDirectory dir;
    const auto message = read_error(
        dir, safetensors_bytes(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
                               R"( "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                               float_bytes(2)));
    BOOST_TEST(contains(message, "tensor 'w': appears twice in the header"), message);
}

BOOST_AUTO_TEST_CASE(unknown_dtype) {
    ScratchDirectory dir;
    const auto message =
        read_error(dir, safetensors_bytes(R"({"w": {"dtype": "Q4", "shape": [1], "data_offsets": [0, 4]}})",
                                          float_bytes(1)));
    BOOST_TEST(contains(message, "tensor 'w': dtype Q4 is not supported: typenet reads F32"), message);
}

BOOST_AUTO_TEST_CASE(shape_does_not_match_the_byte_range) {
    ScratchDirectory dir;
    const auto message =
        read_error(dir, safetensors_bytes(R"({"dense_1/kernel": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}})",
                                          float_bytes(5)));
    BOOST_TEST(contains(message, "tensor 'dense_1/kernel': shape (2, 3) of F32 needs 24 bytes, but data_offsets "
                                 "[0, 20] hold 20"),
               message);
}

BOOST_AUTO_TEST_CASE(offsets_out_of_range_and_truncated_files) {
    ScratchDirectory dir;
    auto message = read_error(dir, safetensors_bytes(R"({"w": {"dtype": "F32", "shape": [6], "data_offsets": [0, 24]}})",
                                                     float_bytes(4)));
    BOOST_TEST(contains(message, "tensor 'w': data_offsets [0, 24] run past the end of the data (16 bytes)"), message);

    // A real file cut short.
    io::write_safetensors(dir / "whole.safetensors", {{"a", {8}, std::vector<float>(8, 1.0f)}});
    const std::string whole = read_bytes(dir / "whole.safetensors");
    message = read_error(dir, whole.substr(0, whole.size() - 3));
    BOOST_TEST(contains(message, "tensor 'a'"), message);
    BOOST_TEST(contains(message, "truncated"), message);
    message = read_error(dir, whole.substr(0, 20));
    BOOST_TEST(contains(message, "truncated"), message);
}

BOOST_AUTO_TEST_CASE(overlapping_offsets) {
    ScratchDirectory dir;
    const auto message = read_error(
        dir, safetensors_bytes(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},)"
                               R"( "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}})",
                               float_bytes(6)));
    BOOST_TEST(contains(message, "tensor 'b': data_offsets [8, 24] overlap tensor 'a', which ends at 16"), message);
}

BOOST_AUTO_TEST_CASE(holes_between_and_before_tensors) {
    ScratchDirectory dir;
    auto message = read_error(dir, safetensors_bytes(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},)"
                                                     R"( "b": {"dtype": "F32", "shape": [4], "data_offsets": [20, 36]}})",
                                                     float_bytes(9)));
    BOOST_TEST(contains(message, "tensor 'b': data_offsets [20, 36] leave a hole of 4 bytes after tensor 'a'"), message);
    message = read_error(dir, safetensors_bytes(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                                                float_bytes(2)));
    BOOST_TEST(contains(message, "leave a hole of 4 bytes after the header"), message);
}

BOOST_AUTO_TEST_CASE(bytes_after_the_last_tensor) {
    ScratchDirectory dir;
    const auto message = read_error(
        dir, safetensors_bytes(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", float_bytes(3)));
    BOOST_TEST(contains(message, "4 bytes follow the last tensor's data"), message);
}

BOOST_AUTO_TEST_CASE(metadata_only_read_checks_the_header_too) {
    ScratchDirectory dir;
    write_bytes(dir / "m.safetensors",
                safetensors_bytes(R"({"__metadata__": {"k": "v"}, "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})",
                                  float_bytes(1)));
    const auto message = message_of<io::FormatError>([&] { io::read_safetensors_metadata(dir / "m.safetensors"); });
    BOOST_TEST(contains(message, "run past the end"), message);
    // An empty file with only metadata is valid.
    write_bytes(dir / "only.safetensors", safetensors_bytes(R"({"__metadata__": {"k": "v"}})", ""));
    BOOST_TEST(io::read_safetensors_metadata(dir / "only.safetensors").at("k") == "v");
    BOOST_TEST(io::read_safetensors(dir / "only.safetensors").empty());
}

BOOST_AUTO_TEST_CASE(format_error_gives_file_and_tensor) {
    ScratchDirectory dir;
    write_bytes(dir / "e.safetensors",
                safetensors_bytes(R"({"w": {"dtype": "Q4", "shape": [1], "data_offsets": [0, 4]}})", float_bytes(1)));
    try {
        io::read_safetensors(dir / "e.safetensors");
        BOOST_FAIL("no exception");
    } catch (const io::FormatError& error) {
        BOOST_TEST(error.file() == dir / "e.safetensors");
        BOOST_TEST(error.tensor() == "w");
    }
}

BOOST_AUTO_TEST_SUITE_END()
