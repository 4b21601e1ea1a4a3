// Atomic writes: the target is replaced whole or not at all, and no temporary file
// outlives a write, whether it succeeds or fails.
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "support.hpp"
#include "typenet/io/atomic_file.hpp"

namespace io = typenet::io;
using io::testing::message_of;
using io::testing::read_bytes;
using io::testing::ScratchDirectory;

BOOST_AUTO_TEST_SUITE(atomic_file)

BOOST_AUTO_TEST_CASE(writes_the_bytes_and_leaves_no_temporary_file) {
    ScratchDirectory dir;
    std::string bytes(3 << 20, '\0');  // larger than the write buffer
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7 + 3);
    io::write_file_atomically(dir / "data.bin", bytes);
    BOOST_TEST((read_bytes(dir / "data.bin") == bytes));
    BOOST_TEST((dir.entries() == std::set<std::string>{"data.bin"}));

    io::write_file_atomically(dir / "data.bin", std::string("short"));
    BOOST_TEST(read_bytes(dir / "data.bin") == "short");
    BOOST_TEST((dir.entries() == std::set<std::string>{"data.bin"}));
}

BOOST_AUTO_TEST_CASE(pieces_go_to_a_temporary_file_until_commit) {
    ScratchDirectory dir;
    io::write_file_atomically(dir / "out.txt", "old contents");
    io::AtomicFile file(dir / "out.txt");
    file.write("new ");
    file.write(std::string(2 << 20, 'x'));
    BOOST_TEST(read_bytes(dir / "out.txt") == "old contents");  // not yet
    BOOST_TEST(file.temporary_path().parent_path() == dir.path());  // same file system: rename is atomic
    BOOST_TEST(std::filesystem::exists(file.temporary_path()));
    file.commit();
    BOOST_TEST(read_bytes(dir / "out.txt") == "new " + std::string(2 << 20, 'x'));
    BOOST_TEST((dir.entries() == std::set<std::string>{"out.txt"}));
}

BOOST_AUTO_TEST_CASE(an_exception_while_writing_keeps_the_old_file_and_removes_the_temporary) {
    ScratchDirectory dir;
    io::write_file_atomically(dir / "weights.bin", "precious");
    BOOST_CHECK_THROW(io::write_file_atomically(dir / "weights.bin",
                                                [](io::AtomicFile& file) {
                                                    file.write(std::string(3 << 20, 'y'));  // some already flushed
                                                    throw std::runtime_error("simulated failure half way");
                                                }),
                      std::runtime_error);
    BOOST_TEST(read_bytes(dir / "weights.bin") == "precious");
    BOOST_TEST((dir.entries() == std::set<std::string>{"weights.bin"}));
}

BOOST_AUTO_TEST_CASE(an_uncommitted_file_is_discarded) {
    ScratchDirectory dir;
    {
        io::AtomicFile file(dir / "never.txt");
        file.write("lost");
    }
    BOOST_TEST(dir.entries().empty());
}

BOOST_AUTO_TEST_CASE(a_failed_rename_names_the_path_and_the_os_error_and_cleans_up) {
    ScratchDirectory dir;
    std::filesystem::create_directory(dir / "a_directory");
    const auto message = message_of<std::filesystem::filesystem_error>(
        [&] { io::write_file_atomically(dir / "a_directory", "bytes"); });
    BOOST_TEST(message.find((dir / "a_directory").string()) != std::string::npos, message);
    BOOST_TEST(message.find("Is a directory") != std::string::npos, message);
    BOOST_TEST((dir.entries() == std::set<std::string>{"a_directory"}));
}

BOOST_AUTO_TEST_CASE(a_missing_directory_names_the_path_and_the_os_error) {
    ScratchDirectory dir;
    const auto target = dir / "no_such_dir" / "file.txt";
    try {
        io::write_file_atomically(target, "bytes");
        BOOST_FAIL("no exception");
    } catch (const std::filesystem::filesystem_error& error) {
        const std::string message = error.what();
        BOOST_TEST(message.find(target.string()) != std::string::npos, message);
        BOOST_TEST(message.find("No such file or directory") != std::string::npos, message);
        BOOST_TEST(error.code().value() == ENOENT);
    }
    BOOST_TEST(dir.entries().empty());
}

BOOST_AUTO_TEST_CASE(the_file_gets_ordinary_permissions) {
    ScratchDirectory dir;
    io::write_file_atomically(dir / "f", "x");
    const mode_t mask = ::umask(0);
    ::umask(mask);
    struct stat info {};
    BOOST_REQUIRE(::stat((dir / "f").c_str(), &info) == 0);
    BOOST_TEST((info.st_mode & 0777) == (0666 & ~mask));
}

BOOST_AUTO_TEST_SUITE_END()
