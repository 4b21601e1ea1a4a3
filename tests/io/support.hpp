// What the io tests share: a scratch directory per test, byte-level file access for
// handcrafting damaged files, the committed fixtures, and catching an error message.
#pragma once

#include "scratch_directory.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <functional>
#include <set>
#include <stdexcept>
#include <string>

namespace typenet::io::testing {

using typenet_test::ScratchDirectory;

inline std::string read_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::filesystem::path fixture(const std::string& name) {
    return std::filesystem::path(TYPENET_FIXTURES_DIR) / "io" / name;
}

// The message of the E that `action` throws; throws std::logic_error if it throws
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

}  // namespace typenet::io::testing
