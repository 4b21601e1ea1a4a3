// Training history CSV: Keras CSVLogger's layout, numbers that read back exactly,
// durable per-epoch appends, and clear errors for files that are not tables.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "support.hpp"
#include "typenet/io/csv.hpp"

namespace io = typenet::io;
using io::testing::message_of;
using io::testing::read_bytes;
using io::testing::ScratchDirectory;
using io::testing::write_bytes;

namespace {
bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
const std::vector<std::string> keras_columns{"epoch", "accuracy", "loss", "val_accuracy", "val_loss"};
}  // namespace

BOOST_AUTO_TEST_SUITE(csv)

BOOST_AUTO_TEST_CASE(numbers_are_written_as_python_repr_writes_them) {
    // Python: repr(float(np.float32(0.6931472))) == '0.6931471824645996', repr(0.5) == '0.5',
    // repr(1e-07) == '1e-07', str(3) == '3' (the epoch).
    BOOST_TEST(io::format_csv_number(static_cast<double>(0.6931472f)) == "0.6931471824645996");
    BOOST_TEST(io::format_csv_number(0.5) == "0.5");
    BOOST_TEST(io::format_csv_number(1e-07) == "1e-07");
    BOOST_TEST(io::format_csv_number(3.0) == "3");
    BOOST_TEST(io::format_csv_number(std::numeric_limits<double>::quiet_NaN()) == "nan");
    BOOST_TEST(io::format_csv_number(-std::numeric_limits<double>::infinity()) == "-inf");
}

BOOST_AUTO_TEST_CASE(table_round_trip_is_exact) {
    ScratchDirectory dir;
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    io::CsvTable table{keras_columns, {}};
    for (int epoch = 0; epoch < 30; ++epoch) {
        std::vector<double> row{static_cast<double>(epoch)};
        for (int c = 0; c < 4; ++c) row.push_back(c % 2 ? unit(rng) * 3 : static_cast<double>(static_cast<float>(unit(rng))));
        table.rows.push_back(row);
    }
    table.rows[3][2] = std::numeric_limits<double>::infinity();  // a diverged loss
    io::write_csv(dir / "history.csv", table);
    const auto back = io::read_csv(dir / "history.csv");
    BOOST_TEST(back.columns == table.columns);
    BOOST_TEST_REQUIRE(back.rows.size() == table.rows.size());
    for (std::size_t r = 0; r < table.rows.size(); ++r) BOOST_TEST(back.rows[r] == table.rows[r]);
    BOOST_TEST(back.column("val_loss").size() == 30u);
    BOOST_TEST(back.column("epoch")[29] == 29.0);
    BOOST_TEST((dir.entries() == std::set<std::string>{"history.csv"}));
}

BOOST_AUTO_TEST_CASE(layout_is_keras_csvlogger_s) {
    ScratchDirectory dir;
    io::write_csv(dir / "h.csv", {keras_columns, {{0, 0.5, 0.6931471824645996, 0.25, 0.75}, {1, 0.625, 0.5, 0.5, 0.5}}});
    BOOST_TEST(read_bytes(dir / "h.csv") ==
               "epoch,accuracy,loss,val_accuracy,val_loss\r\n"
               "0,0.5,0.6931471824645996,0.25,0.75\r\n"
               "1,0.625,0.5,0.5,0.5\r\n");
}

BOOST_AUTO_TEST_CASE(names_with_commas_and_quotes_are_quoted) {
    ScratchDirectory dir;
    io::write_csv(dir / "q.csv", {{"epoch", "f1, macro", "say \"hi\""}, {{1, 2, 3}}});
    BOOST_TEST(read_bytes(dir / "q.csv") == "epoch,\"f1, macro\",\"say \"\"hi\"\"\"\r\n1,2,3\r\n");
    const auto back = io::read_csv(dir / "q.csv");
    BOOST_TEST((back.columns == std::vector<std::string>{"epoch", "f1, macro", "say \"hi\""}));
}

BOOST_AUTO_TEST_CASE(reads_plain_newlines_and_files_written_elsewhere) {
    ScratchDirectory dir;
    write_bytes(dir / "unix.csv", "epoch,loss\n0,1.5\n1,+0.25\n\n");
    const auto table = io::read_csv(dir / "unix.csv");
    BOOST_TEST(table.rows.size() == 2u);
    BOOST_TEST(table.rows[1][1] == 0.25);
}

BOOST_AUTO_TEST_CASE(appender_writes_each_row_durably_and_can_continue_a_file) {
    ScratchDirectory dir;
    const auto path = dir / "log.csv";
    {
        io::CsvAppender log(path, keras_columns);
        BOOST_TEST(read_bytes(path) == "epoch,accuracy,loss,val_accuracy,val_loss\r\n");
        log.append_row({0, 0.5, 0.7, 0.5, 0.69});
        // Readable as soon as append_row returns, while the logger is still open.
        BOOST_TEST(io::read_csv(path).rows.size() == 1u);
        log.append_row({1, 0.6, 0.6, 0.55, 0.65});
        BOOST_CHECK_THROW(log.append_row({2, 0.6}), std::invalid_argument);
    }
    {
        io::CsvAppender resumed(path, keras_columns, /*append=*/true);
        resumed.append_row({2, 0.7, 0.5, 0.6, 0.6});
    }
    auto table = io::read_csv(path);
    BOOST_TEST(table.rows.size() == 3u);
    BOOST_TEST((table.column("epoch") == std::vector<double>{0, 1, 2}));

    // append = false starts over, as CSVLogger(append=False) does.
    { io::CsvAppender fresh(path, keras_columns); }
    BOOST_TEST(io::read_csv(path).rows.empty());

    // append = true on a missing file starts one.
    { io::CsvAppender(dir / "new.csv", keras_columns, true).append_row({0, 1, 2, 3, 4}); }
    BOOST_TEST(io::read_csv(dir / "new.csv").rows.size() == 1u);
    BOOST_TEST((dir.entries() == std::set<std::string>{"log.csv", "new.csv"}));
}

BOOST_AUTO_TEST_CASE(appending_to_a_file_with_other_columns_is_refused) {
    ScratchDirectory dir;
    io::write_csv(dir / "log.csv", {{"epoch", "loss"}, {{0, 1}}});
    const std::string before = read_bytes(dir / "log.csv");
    const auto message = message_of<io::FormatError>([&] { io::CsvAppender(dir / "log.csv", keras_columns, true); });
    BOOST_TEST(contains(message, "cannot append: the file's columns are epoch,loss, the new rows have epoch,accuracy"),
               message);
    BOOST_TEST(read_bytes(dir / "log.csv") == before);
    write_bytes(dir / "torn.csv", "epoch,loss\r\n0,1\r\n1,0.");
    const auto torn = message_of<io::FormatError>([&] { io::CsvAppender(dir / "torn.csv", {"epoch", "loss"}, true); });
    BOOST_TEST(contains(torn, "the last line is incomplete"), torn);
}

BOOST_AUTO_TEST_CASE(malformed_tables_name_file_line_and_column) {
    ScratchDirectory dir;
    auto error_for = [&](const std::string& bytes) {
        write_bytes(dir / "bad.csv", bytes);
        return message_of<io::FormatError>([&] { io::read_csv(dir / "bad.csv"); });
    };
    auto message = error_for("epoch,loss\r\n0,0.5\r\n1,abc\r\n");
    BOOST_TEST(contains(message, "bad.csv: line 3, column 'loss': 'abc' is not a number"), message);
    message = error_for("epoch,loss\n0,0.5,7\n");
    BOOST_TEST(contains(message, "line 2 has 3 fields, the header has 2"), message);
    message = error_for("epoch,loss\n0,\n");
    BOOST_TEST(contains(message, "line 2, column 'loss': '' is not a number"), message);
    message = error_for("");
    BOOST_TEST(contains(message, "the file is empty"), message);
    message = error_for("\"epoch,loss\n");
    BOOST_TEST(contains(message, "a quoted field never ends"), message);
    BOOST_CHECK_THROW(io::write_csv(dir / "x.csv", {{"a", "b"}, {{1}}}), std::invalid_argument);
    BOOST_CHECK_THROW(io::read_csv(dir / "x.csv"), io::FormatError);  // never written
    io::write_csv(dir / "good.csv", {{"epoch", "loss"}, {{0, 1}}});
    const auto lookup = message_of<std::out_of_range>([&] { (void)io::read_csv(dir / "good.csv").column("acc"); });
    BOOST_TEST(contains(lookup, "no column 'acc' (its columns: epoch, loss)"), lookup);
}

BOOST_AUTO_TEST_SUITE_END()
