// Atomic writes: the target is replaced whole or not at all, and no temporary file
// outlives a write, whether it succeeds or fails; one a killed save left behind goes
// with the next save of the same file.
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "support.hpp"
#include "typenet/io/atomic_file.hpp"

namespace io = typenet::io;
using io::testing::message_of;
using io::testing::read_bytes;
using io::testing::ScratchDirectory;
using io::testing::write_bytes;

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

// A child process starts a save of `target`, writes some bytes, and is killed (SIGKILL)
// before it commits: its temporary file stays behind. Returns the dead child's pid.
static pid_t kill_a_save_half_way(const std::filesystem::path& target) {
    int ready[2];
    BOOST_REQUIRE(::pipe(ready) == 0);
    const pid_t child = ::fork();
    BOOST_REQUIRE(child >= 0);
    if (child == 0) {
        io::AtomicFile file(target);
        file.write(std::string(2 << 20, 'k'));  // past the buffer: bytes on disk
        const char byte = 1;
        if (::write(ready[1], &byte, 1) != 1) ::_exit(3);
        for (;;) ::pause();
    }
    ::close(ready[1]);
    char byte = 0;
    BOOST_REQUIRE(::read(ready[0], &byte, 1) == 1);
    ::close(ready[0]);
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    BOOST_REQUIRE(WIFSIGNALED(status));
    return child;
}

BOOST_AUTO_TEST_CASE(the_next_save_removes_what_killed_saves_left_behind) {
    ScratchDirectory dir;
    io::write_file_atomically(dir / "data.bin", "old");
    const pid_t first = kill_a_save_half_way(dir / "data.bin");
    const pid_t second = kill_a_save_half_way(dir / "data.bin");
    const std::string me = std::to_string(::getpid());
    // Two leftovers of killed saves, and what must stay: another target's leftover, a name
    // that is not ours, a live process's save (pid 1 never dies), and a leftover of an
    // earlier process that had this process's pid (a restarted container).
    write_bytes(dir / (".other.bin.tmp-" + std::to_string(first) + "-0-1"), "other target");
    write_bytes(dir / ".data.bin.tmp-notapid", "not our pattern");
    write_bytes(dir / ".data.bin.tmp-1-0-1", "a live writer's");
    write_bytes(dir / (".data.bin.tmp-" + me + "-999999-1"), "an earlier process with this pid");
    // The second killed save already removed the first one's leftover: data.bin, one
    // leftover and the four others.
    BOOST_TEST(dir.entries().size() == 6u);
    for (const auto& name : dir.entries())
        BOOST_TEST(!name.starts_with(".data.bin.tmp-" + std::to_string(first) + "-"), name);

    // A save of this process in progress when another save of the same target starts.
    io::AtomicFile in_progress(dir / "data.bin");
    in_progress.write("in progress");
    const std::string open_name = in_progress.temporary_path().filename().string();

    io::write_file_atomically(dir / "data.bin", "new");
    BOOST_TEST(read_bytes(dir / "data.bin") == "new");
    const std::set<std::string> expected{"data.bin",
                                         ".other.bin.tmp-" + std::to_string(first) + "-0-1",
                                         ".data.bin.tmp-notapid",
                                         ".data.bin.tmp-1-0-1",
                                         open_name};
    BOOST_TEST((dir.entries() == expected), "killed saves: pids " << first << " and " << second);

    in_progress.commit();
    BOOST_TEST(read_bytes(dir / "data.bin") == "in progress");
}

BOOST_AUTO_TEST_CASE(leftovers_in_the_current_directory_are_found_too) {
    ScratchDirectory dir;
    const auto previous = std::filesystem::current_path();
    std::filesystem::current_path(dir.path());
    const pid_t dead = kill_a_save_half_way("relative.bin");
    BOOST_TEST(dir.entries().size() == 1u);
    io::write_file_atomically("relative.bin", "x");
    std::filesystem::current_path(previous);
    BOOST_TEST((dir.entries() == std::set<std::string>{"relative.bin"}), "pid " << dead);
}

BOOST_AUTO_TEST_SUITE_END()
