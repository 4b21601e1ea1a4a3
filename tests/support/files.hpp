// tests/support/files.hpp
// What many tests do with files and errors: read or write a whole file as bytes (to
// handcraft damaged inputs or compare outputs), and catch the message of an expected error.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace typenet_test {

// The whole file, byte for byte; empty if it cannot be opened.
inline std::string read_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Replaces the file with exactly `bytes`.
inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// The message of the E that `action` throws. Throws std::logic_error if it throws
// nothing (so the test fails), and lets any other exception through.
template <class E, class Action>
std::string message_of(Action&& action) {
    try {
        action();
    } catch (const E& error) {
        return error.what();
    }
    throw std::logic_error("expected an exception, none was thrown");
}

}  // namespace typenet_test
