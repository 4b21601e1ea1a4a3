// Hostile files (issue 16): each reader refuses a crafted file with a clear error that
// names the file and the problem, without crashing and in bounded memory. Every case
// runs the reader in a fresh child process (tests/support/child_process.hpp), so a
// stack overflow shows as a signal and the peak resident memory is the reader's own.
#include <boost/test/unit_test.hpp>

#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "child_process.hpp"
#include "support.hpp"
#include "typenet/data/idx.hpp"
#include "typenet/io/csv.hpp"
#include "typenet/io/npy.hpp"
#include "typenet/io/safetensors.hpp"

namespace io = typenet::io;
using io::testing::ScratchDirectory;
using io::testing::write_bytes;
using typenet_test::ChildOutcome;
using typenet_test::run_in_child;

namespace {

// Tiny inputs must stay far below this; the old readers took 0.46 to 2.1 GB.
constexpr double memory_bound = typenet_test::memory_bound_mb(256.0);

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The reader ended with an error naming `file` and saying `problem`, in bounded memory.
void check_refused(const ChildOutcome& outcome, const std::filesystem::path& file, const std::string& problem) {
    BOOST_TEST_INFO("outcome: " << outcome.describe() << ", peak " << outcome.peak_rss_mb() << " MB");
    BOOST_TEST(outcome.signal == 0);
    BOOST_TEST(outcome.threw);
    BOOST_TEST(contains(outcome.message, file.string()));
    BOOST_TEST(contains(outcome.message, problem));
    BOOST_TEST(outcome.message.size() < 2000u);  // a bounded quote, never the whole input
    BOOST_TEST(outcome.added_mb() < memory_bound);
}

std::string little_endian_u64(std::uint64_t value) {
    std::string out;
    for (int b = 0; b < 8; ++b) out.push_back(static_cast<char>((value >> (8 * b)) & 0xff));
    return out;
}

std::string big_endian_u32(std::uint32_t value) {
    return {static_cast<char>(value >> 24), static_cast<char>(value >> 16), static_cast<char>(value >> 8),
            static_cast<char>(value)};
}

std::string safetensors_with_header(std::string header) {
    header.append((8 - header.size() % 8) % 8, ' ');
    return little_endian_u64(header.size()) + header;
}

std::string npy_with_dict(const std::string& dict, const std::string& data = {}) {
    std::string header = dict;
    const std::size_t unpadded = 10 + header.size() + 1;
    header.append(64 - unpadded % 64, ' ');
    header.push_back('\n');
    std::string out("\x93NUMPY\x01\x00", 8);
    out.push_back(static_cast<char>(header.size() & 0xff));
    out.push_back(static_cast<char>(header.size() >> 8));
    return out + header + data;
}

void write_gzip(const std::filesystem::path& path, const std::string& bytes) {
    gzFile out = gzopen(path.c_str(), "wb9");
    BOOST_REQUIRE(out != nullptr);
    BOOST_REQUIRE(gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
    BOOST_REQUIRE(gzclose(out) == Z_OK);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hostile_files)

BOOST_AUTO_TEST_CASE(safetensors_header_nested_75000_deep_is_refused_without_recursion) {
    ScratchDirectory dir("hostile");
    const auto file = dir / "deep.safetensors";
    const std::size_t depth = 75'000;
    write_bytes(file, safetensors_with_header("{\"w\":" + std::string(depth, '[') + std::string(depth, ']') + "}"));
    const auto outcome = run_in_child([&] { io::read_safetensors(file); });
    check_refused(outcome, file, "levels deep");
    // The same depth inside a string is just text: no false alarm from the scan.
    const auto quoted = dir / "quoted.safetensors";
    write_bytes(quoted, safetensors_with_header("{\"__metadata__\": {\"note\": \"" + std::string(depth, '[') + "\"}}"));
    BOOST_TEST(io::read_safetensors_metadata(quoted).at("note").size() == depth);
}

BOOST_AUTO_TEST_CASE(safetensors_error_messages_quote_a_bounded_prefix) {
    ScratchDirectory dir("hostile");
    std::string ones;
    for (int i = 0; i < 50'000; ++i) ones += i ? ",1" : "1";
    const auto file = dir / "long_dtype.safetensors";
    write_bytes(file, safetensors_with_header("{\"w\": {\"dtype\": [" + ones + "], \"shape\": [], \"data_offsets\": [0, 0]}}"));
    const auto message = io::testing::message_of<io::FormatError>([&] { io::read_safetensors(file); });
    BOOST_TEST(contains(message, "dtype must be a string, found [1,1,1"));
    BOOST_TEST(message.size() < 400u);
    // A number too large for any integer is a FormatError too (nlohmann throws out_of_range).
    const auto huge = dir / "huge_number.safetensors";
    write_bytes(huge, safetensors_with_header("{\"w\": {\"dtype\": \"F32\", \"shape\": [" + std::string(100'000, '9') +
                                              "], \"data_offsets\": [0, 0]}}"));
    const auto outcome = run_in_child([&] { io::read_safetensors(huge); });
    check_refused(outcome, huge, "not valid JSON");
    BOOST_TEST(outcome.message.size() < 400u);
}

BOOST_AUTO_TEST_CASE(safetensors_shape_with_a_zero_but_unaddressable_strides_is_refused) {
    ScratchDirectory dir("hostile");
    const auto file = dir / "zero_huge.safetensors";
    write_bytes(file, safetensors_with_header(
                          "{\"w\": {\"dtype\": \"F32\", \"shape\": [0, 4611686018427387904, 4], \"data_offsets\": [0, 0]}}"));
    check_refused(run_in_child([&] { io::read_safetensors(file); }), file, "too large to address");
}

BOOST_AUTO_TEST_CASE(npy_shape_0_by_2_62_by_4_is_refused_as_numpy_does) {
    ScratchDirectory dir("hostile");
    const auto file = dir / "zero_huge.npy";
    write_bytes(file, npy_with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4611686018427387904, 4), }"));
    check_refused(run_in_child([&] { io::read_npy(file); }), file, "too large to address");
    // Below the line it is fine: (0, 2**59, 2) floats span 2**62 bytes, and hold nothing.
    const auto fine = dir / "zero_ok.npy";
    write_bytes(fine, npy_with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 576460752303423488, 2), }"));
    const auto array = io::read_npy(fine);
    BOOST_TEST(array.values.empty());
    BOOST_TEST(array.shape.size() == 3u);
}

BOOST_AUTO_TEST_CASE(npy_claims_beyond_the_file_and_overflowing_shapes_are_refused) {
    ScratchDirectory dir("hostile");
    const auto big = dir / "big.npy";
    write_bytes(big, npy_with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }", "12345678"));
    check_refused(run_in_child([&] { io::read_npy(big); }), big, "truncated");
    const auto overflow = dir / "overflow.npy";
    write_bytes(overflow, npy_with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 2), }"));
    check_refused(run_in_child([&] { io::read_npy(overflow); }), overflow, "too large to address");
}

BOOST_AUTO_TEST_CASE(idx_plain_13_bytes_claiming_450_mb_is_refused_before_allocating) {
    ScratchDirectory dir("hostile");
    const auto file = dir / "labels-idx1-ubyte";
    write_bytes(file, big_endian_u32(0x00000801u) + big_endian_u32(0x1b000000u) + "abcde");
    BOOST_REQUIRE(std::filesystem::file_size(file) == 13u);
    check_refused(run_in_child([&] { typenet::read_idx_labels(file); }), file, "truncated");
}

BOOST_AUTO_TEST_CASE(idx_gz_of_32_bytes_claiming_16_gib_is_refused_in_bounded_memory) {
    ScratchDirectory dir("hostile");
    const auto file = dir / "images-idx3-ubyte.gz";
    // 2^15 images of 2^9 x 2^10: exactly the 16 GiB the reader allows at most.
    write_gzip(file, big_endian_u32(0x00000803u) + big_endian_u32(1u << 15) + big_endian_u32(1u << 9) +
                         big_endian_u32(1u << 10) + "data");
    BOOST_TEST(std::filesystem::file_size(file) < 64u);
    check_refused(run_in_child([&] { typenet::read_idx_images(file); }), file, "truncated");
    // The same header in a plain file is refused by its size alone.
    const auto plain = dir / "images-idx3-ubyte";
    write_bytes(plain, big_endian_u32(0x00000803u) + big_endian_u32(1u << 15) + big_endian_u32(1u << 9) +
                           big_endian_u32(1u << 10) + "data");
    check_refused(run_in_child([&] { typenet::read_idx_images(plain); }), plain, "truncated");
}

BOOST_AUTO_TEST_CASE(idx_gz_still_reads_a_whole_file_bigger_than_one_chunk) {
    // The growing buffer must not lose or reorder bytes across its steps.
    ScratchDirectory dir("hostile");
    const auto file = dir / "labels-idx1-ubyte.gz";
    const std::size_t count = 3 * typenet::detail::idx_read_chunk + 12345;
    std::string data(count, '\0');
    for (std::size_t i = 0; i < count; ++i) data[i] = static_cast<char>((i * 7 + i / 1000) % 10);
    write_gzip(file, big_endian_u32(0x00000801u) + big_endian_u32(static_cast<std::uint32_t>(count)) + data);
    const auto labels = typenet::read_idx_labels(file);
    BOOST_REQUIRE(labels.size() == count);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < count; ++i) wrong += labels(i) != static_cast<float>(data[i]);
    BOOST_TEST(wrong == 0u);
}

BOOST_AUTO_TEST_CASE(csv_of_10_mb_blank_lines_and_rows_reads_in_bounded_memory) {
    ScratchDirectory dir("hostile");
    const auto blank = dir / "blank.csv";
    write_bytes(blank, "epoch,loss\r\n" + std::string(10'000'000, '\n') + "0,0.5\r\n");
    const auto blank_outcome = run_in_child([&] {
        const auto table = io::read_csv(blank);
        if (table.rows.size() != 1 || table.rows[0][1] != 0.5) throw std::runtime_error("wrong table");
    });
    BOOST_TEST_INFO(blank_outcome.describe());
    BOOST_TEST(blank_outcome.returned);
    BOOST_TEST(blank_outcome.added_mb() < memory_bound);

    // A history-shaped file of 10 MB: the rows themselves, nothing built beside them.
    std::string text = "epoch,accuracy,loss,val_accuracy,val_loss\r\n";
    for (std::size_t epoch = 0; text.size() < 10'000'000; ++epoch)
        text += std::to_string(epoch) + ",0.5,0.25,0.75,0.125\r\n";
    const auto rows = dir / "rows.csv";
    write_bytes(rows, text);
    const auto rows_outcome = run_in_child([&] {
        const auto table = io::read_csv(rows);
        if (table.rows.size() < 300'000) throw std::runtime_error("too few rows");
    });
    BOOST_TEST_INFO(rows_outcome.describe());
    BOOST_TEST(rows_outcome.returned);
    BOOST_TEST(rows_outcome.added_mb() < memory_bound);

    // A damaged number deep in a long field is quoted, not copied whole.
    const auto long_field = dir / "long_field.csv";
    write_bytes(long_field, "epoch\r\n" + std::string(1'000'000, 'x') + "\r\n");
    check_refused(run_in_child([&] { io::read_csv(long_field); }), long_field, "is not a number");
}

BOOST_AUTO_TEST_SUITE_END()
