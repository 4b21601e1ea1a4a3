// What the io tests share: a scratch directory per test, byte-level file access for
// handcrafting damaged files, the committed fixtures, and catching an error message.
#pragma once

#include "files.hpp"
#include "scratch_directory.hpp"

#include <filesystem>
#include <string>

namespace typenet::io::testing {

using typenet_test::message_of;
using typenet_test::read_bytes;
using typenet_test::ScratchDirectory;
using typenet_test::write_bytes;

inline std::filesystem::path fixture(const std::string& name) {
    return std::filesystem::path(TYPENET_FIXTURES_DIR) / "io" / name;
}

}  // namespace typenet::io::testing
