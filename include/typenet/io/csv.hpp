// typenet/io/csv.hpp
// Training history as CSV, in the layout of Keras's CSVLogger: a header of column
// names in the caller's order (Keras: epoch, then the metric names sorted, e.g.
// epoch,accuracy,loss,val_accuracy,val_loss), then one row of numbers per epoch.
// Like Python's csv module (excel dialect) that CSVLogger uses, lines end in "\r\n"
// and a name holding a comma, quote or line break is quoted. Numbers are written in
// the shortest form that reads back to the same double (std::to_chars), which is
// Python's repr of a float: a float32 metric widened to double round-trips exactly.
//
// Contract:
//   write_csv(path, table)        the whole table, atomically (the old file stays whole
//                                 if anything fails); std::invalid_argument when a row's
//                                 length differs from the header's.
//   CsvAppender(path, columns, append = false)
//                                 per-epoch logging: each append_row() is one write()
//                                 followed by fdatasync, so every finished epoch is on
//                                 disk even if the process dies. append = false starts
//                                 a new file (header only, written atomically);
//                                 append = true continues an existing file after
//                                 checking that its header has the same columns
//                                 (FormatError if not), or starts one if it is missing
//                                 or empty (Keras's CSVLogger(append=True)).
//   read_csv(path) -> CsvTable    a header and numeric rows ("\n" or "\r\n", quoted
//                                 header names, nan/inf); FormatError naming the file,
//                                 line and column for anything else. Records are parsed
//                                 one at a time (memory: the file's text and the rows).
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "typenet/io/atomic_file.hpp"
#include "typenet/io/format_error.hpp"

namespace typenet::io {

struct CsvTable {
    std::vector<std::string> columns;
    std::vector<std::vector<double>> rows;

    // The values of one column, top to bottom; std::out_of_range naming the columns
    // there are when there is no such column.
    [[nodiscard]] std::vector<double> column(std::string_view name) const {
        for (std::size_t c = 0; c < columns.size(); ++c) {
            if (columns[c] != name) continue;
            std::vector<double> values;
            values.reserve(rows.size());
            for (const auto& row : rows) values.push_back(row.at(c));
            return values;
        }
        std::string names;
        for (const auto& column : columns) names += (names.empty() ? "" : ", ") + column;
        throw std::out_of_range("CSV table has no column '" + std::string(name) + "' (its columns: " + names + ")");
    }
};

// The shortest text that reads back to exactly `value`: "0", "0.25", "0.6931471824645996",
// "1e-07", "nan", "inf", "-inf".
inline std::string format_csv_number(double value) {
    if (std::isnan(value)) return "nan";
    char text[64];
    const auto result = std::to_chars(text, text + sizeof(text), value);
    return std::string(text, result.ptr);
}

namespace detail {

inline constexpr std::string_view csv_line_end = "\r\n";

inline std::string csv_field(std::string_view text) {
    if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
    std::string quoted = "\"";
    for (char c : text) {
        if (c == '"') quoted += '"';
        quoted += c;
    }
    return quoted + "\"";
}

inline std::string csv_header_line(const std::vector<std::string>& columns) {
    std::string line;
    for (std::size_t c = 0; c < columns.size(); ++c) line += (c ? "," : "") + csv_field(columns[c]);
    return line + std::string(csv_line_end);
}

inline std::string csv_row_line(const std::vector<double>& values) {
    std::string line;
    for (std::size_t c = 0; c < values.size(); ++c) line += (c ? "," : "") + format_csv_number(values[c]);
    return line + std::string(csv_line_end);
}

inline void check_row_length(const std::filesystem::path& path, std::size_t columns, std::size_t cells,
                             std::size_t row) {
    if (cells != columns)
        throw std::invalid_argument("CSV " + path.string() + ": row " + std::to_string(row) + " has " +
                                    std::to_string(cells) + " values for " + std::to_string(columns) + " columns");
}

// Splits CSV text into records of fields, honouring quotes ("a,b" and "" escapes), and
// hands each record to `on_record(line, fields)` (the 1-based line it starts on) as soon
// as it ends; on_record returns false to stop. Only one record is held at a time, so a
// file of millions of blank lines costs no memory beyond its text.
template <class OnRecord>
void for_each_csv_record(std::string_view text, const std::filesystem::path& path, OnRecord&& on_record) {
    std::vector<std::string> fields;
    std::string field;
    bool in_quotes = false, record_started = false;
    std::size_t line = 1, record_line = 1;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (!record_started) {
            record_started = true;
            record_line = line;
        }
        if (in_quotes) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (c == '"') {
                in_quotes = false;
            } else {
                if (c == '\n') ++line;
                field += c;
            }
        } else if (c == '"' && field.empty()) {
            in_quotes = true;
        } else if (c == ',') {
            fields.push_back(std::exchange(field, {}));
        } else if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
            fields.push_back(std::exchange(field, {}));
            record_started = false;
            ++line;
            if (!on_record(record_line, fields)) return;
            fields.clear();
        } else {
            field += c;
        }
    }
    if (in_quotes) throw FormatError(path, "line " + std::to_string(record_line) + ": a quoted field never ends");
    if (record_started) {
        fields.push_back(std::move(field));
        on_record(record_line, fields);
    }
}

inline double parse_csv_number(std::string_view text, const std::filesystem::path& path, std::size_t line,
                               std::string_view column) {
    double value = 0;
    const char* begin = text.data();
    const char* end = text.data() + text.size();
    if (begin != end && *begin == '+') ++begin;  // from_chars does not take a leading '+'
    const auto result = std::from_chars(begin, end, value);
    if (text.empty() || result.ec != std::errc() || result.ptr != end)
        throw FormatError(path, "line " + std::to_string(line) + ", column '" + std::string(column) + "': '" +
                                    std::string(text.substr(0, 80)) + (text.size() > 80 ? "...'" : "'") +
                                    " is not a number");
    return value;
}

inline std::string read_whole_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw FormatError(path, std::string("cannot open the file: ") + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw FormatError(path, std::string("cannot read the file: ") + std::strerror(errno));
    return std::move(text).str();
}

}  // namespace detail

inline void write_csv(const std::filesystem::path& path, const CsvTable& table) {
    for (std::size_t r = 0; r < table.rows.size(); ++r)
        detail::check_row_length(path, table.columns.size(), table.rows[r].size(), r + 1);
    std::string text = detail::csv_header_line(table.columns);
    for (const auto& row : table.rows) text += detail::csv_row_line(row);
    write_file_atomically(path, text);
}

inline CsvTable read_csv(const std::filesystem::path& path) {
    const std::string text = detail::read_whole_file(path);
    CsvTable table;
    bool have_header = false;
    detail::for_each_csv_record(text, path, [&](std::size_t line, std::vector<std::string>& fields) {
        // Blank lines (a trailing newline, a stray empty line) carry no row.
        if (fields.size() == 1 && fields[0].empty()) return true;
        if (!have_header) {
            table.columns = std::move(fields);
            have_header = true;
            return true;
        }
        if (fields.size() != table.columns.size())
            throw FormatError(path, "line " + std::to_string(line) + " has " + std::to_string(fields.size()) +
                                        " fields, the header has " + std::to_string(table.columns.size()));
        std::vector<double> row;
        row.reserve(fields.size());
        for (std::size_t c = 0; c < fields.size(); ++c)
            row.push_back(detail::parse_csv_number(fields[c], path, line, table.columns[c]));
        table.rows.push_back(std::move(row));
        return true;
    });
    if (!have_header) throw FormatError(path, "the file is empty: a CSV table needs at least a header line");
    return table;
}

// Appends one durable row per call: what Keras's CSVLogger does once per epoch.
class CsvAppender {
public:
    CsvAppender(std::filesystem::path path, std::vector<std::string> columns, bool append = false)
        : path_(std::move(path)), columns_(std::move(columns)) {
        const std::string header = detail::csv_header_line(columns_);
        std::error_code ignored;
        const bool continue_file = append && std::filesystem::file_size(path_, ignored) > 0 && !ignored;
        if (continue_file) {
            check_existing(header);
        } else {
            write_file_atomically(path_, header);
        }
        fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd_ < 0) detail::throw_os_error("cannot open the CSV file for appending", path_, errno);
    }
    CsvAppender(const CsvAppender&) = delete;
    CsvAppender& operator=(const CsvAppender&) = delete;
    CsvAppender(CsvAppender&& other) noexcept
        : path_(std::move(other.path_)),
          columns_(std::move(other.columns_)),
          fd_(std::exchange(other.fd_, -1)),
          rows_(other.rows_) {}
    CsvAppender& operator=(CsvAppender&& other) noexcept {
        if (this != &other) {
            close();
            path_ = std::move(other.path_);
            columns_ = std::move(other.columns_);
            fd_ = std::exchange(other.fd_, -1);
            rows_ = other.rows_;
        }
        return *this;
    }
    ~CsvAppender() { close(); }

    // One row, in the order of the columns; on disk when this returns.
    void append_row(const std::vector<double>& values) {
        detail::check_row_length(path_, columns_.size(), values.size(), rows_ + 1);
        const std::string line = detail::csv_row_line(values);
        // One write() of the whole line: with O_APPEND a row is never interleaved or
        // split by another writer, and a crash leaves at most this one row incomplete.
        const int error = detail::write_all(fd_, line.data(), line.size());
        if (error != 0) detail::throw_os_error("cannot append a row to the CSV file", path_, error);
        if (::fdatasync(fd_) != 0) detail::throw_os_error("cannot flush the CSV file to disk", path_, errno);
        ++rows_;
    }

    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    [[nodiscard]] const std::vector<std::string>& columns() const { return columns_; }

private:
    void check_existing(const std::string& header) const {
        const std::string text = detail::read_whole_file(path_);
        std::vector<std::string> found;
        detail::for_each_csv_record(text, path_, [&](std::size_t, std::vector<std::string>& fields) {
            found = std::move(fields);
            return false;  // only the header matters
        });
        if (found != columns_) {
            throw FormatError(path_, "cannot append: the file's columns are " +
                                         std::string(text.substr(0, std::min<std::size_t>(text.find_first_of("\r\n"), 200))) +
                                         ", the new rows have " + header.substr(0, header.size() - 2));
        }
        if (text.back() != '\n')
            throw FormatError(path_, "cannot append: the last line is incomplete (the writer was interrupted); "
                                     "remove it or start a new file");
    }
    void close() noexcept {
        if (fd_ >= 0) ::close(std::exchange(fd_, -1));
    }

    std::filesystem::path path_;
    std::vector<std::string> columns_;
    int fd_ = -1;
    std::size_t rows_ = 0;
};

}  // namespace typenet::io
