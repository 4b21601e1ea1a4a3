// typenet/io/atomic_file.hpp
// Writing a file so that a crash, a full disk or an exception never leaves a
// half-written file where a good one was: the bytes go to a temporary file in the
// same directory (same file system, so the rename is atomic), which is flushed,
// fsync'ed and then renamed over the target. Until commit() the target is untouched;
// if anything throws before it, the temporary file is removed.
//
//   write_file_atomically(path, bytes);                  // whole contents at once
//   AtomicFile file(path);                               // or piece by piece
//   file.write(header); file.write(data, n); file.commit();
//
// Errors are std::filesystem::filesystem_error: what() names the path and the OS
// error ("cannot create a temporary file next to 'out/w.safetensors': No such file or
// directory"), code() holds errno. POSIX only (open/fsync/rename), as the library is.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace typenet::io {

namespace detail {

[[noreturn]] inline void throw_os_error(const std::string& what, const std::filesystem::path& path, int error) {
    throw std::filesystem::filesystem_error(what, path, std::error_code(error, std::generic_category()));
}

// Writes all of `bytes`, retrying after signals and short writes.
inline int write_all(int fd, const char* bytes, std::size_t count) {
    while (count > 0) {
        const ssize_t written = ::write(fd, bytes, count);
        if (written < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        bytes += written;
        count -= static_cast<std::size_t>(written);
    }
    return 0;
}

// Makes a rename or a newly created file in `directory` durable. Best effort: some
// file systems cannot fsync a directory, and the data itself is already on disk.
inline void sync_directory(const std::filesystem::path& directory) {
    const int fd = ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

// A name no other writer uses at the same time: process id, a per-process counter
// and the clock, so that concurrent saves of the same target never share a file.
inline std::filesystem::path temporary_sibling(const std::filesystem::path& target) {
    static std::atomic<std::uint64_t> counter{0};
    const auto ticks = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    std::string name = "." + target.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                       std::to_string(counter.fetch_add(1)) + "-" + std::to_string(ticks % 1'000'000'007ULL);
    return target.parent_path() / name;
}

}  // namespace detail

class AtomicFile {
public:
    // Creates the temporary file next to `target`; `target` itself is not touched yet.
    explicit AtomicFile(std::filesystem::path target) : target_(std::move(target)) {
        if (target_.filename().empty())
            detail::throw_os_error("cannot write a file: the path names a directory", target_, EISDIR);
        for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
            temporary_ = detail::temporary_sibling(target_);
            // 0666 less the umask: the file gets the permissions an ordinary create would give.
            fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
            if (fd_ < 0 && errno != EEXIST)
                detail::throw_os_error("cannot create a temporary file next to the target", target_, errno);
        }
        if (fd_ < 0) detail::throw_os_error("cannot create a unique temporary file next to the target", target_, EEXIST);
        buffer_.reserve(buffer_limit);
    }

    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    // Not committed: the temporary file goes, the target stays as it was.
    ~AtomicFile() { discard(); }

    void write(const void* data, std::size_t bytes) {
        const char* chars = static_cast<const char*>(data);
        if (buffer_.size() + bytes > buffer_limit) flush_buffer();
        if (bytes >= buffer_limit) {
            check_write(detail::write_all(fd_, chars, bytes));
        } else {
            buffer_.append(chars, bytes);
        }
    }
    void write(std::string_view text) { write(text.data(), text.size()); }

    // Flush, fsync, rename over the target, fsync the directory. After this the new
    // contents are on disk under the target's name; before it, the old ones are.
    void commit() {
        if (fd_ < 0) detail::throw_os_error("commit() called twice or after a failure", target_, EBADF);
        flush_buffer();
        if (::fsync(fd_) != 0) fail("cannot flush the file to disk", errno);
        const int fd = std::exchange(fd_, -1);
        if (::close(fd) != 0) fail("cannot close the temporary file", errno);
        if (::rename(temporary_.c_str(), target_.c_str()) != 0) fail("cannot rename the temporary file over", errno);
        temporary_.clear();
        detail::sync_directory(target_.parent_path());
    }

    [[nodiscard]] const std::filesystem::path& target() const { return target_; }
    [[nodiscard]] const std::filesystem::path& temporary_path() const { return temporary_; }

private:
    static constexpr std::size_t buffer_limit = std::size_t{1} << 20;

    void flush_buffer() {
        if (buffer_.empty()) return;
        check_write(detail::write_all(fd_, buffer_.data(), buffer_.size()));
        buffer_.clear();
    }
    void check_write(int error) {
        if (error != 0) fail("cannot write", error);
    }
    [[noreturn]] void fail(const std::string& what, int error) {
        discard();
        detail::throw_os_error(what, target_, error);
    }
    void discard() noexcept {
        if (fd_ >= 0) ::close(std::exchange(fd_, -1));
        if (!temporary_.empty()) {
            ::unlink(temporary_.c_str());
            temporary_.clear();
        }
    }

    std::filesystem::path target_;
    std::filesystem::path temporary_;
    int fd_ = -1;
    std::string buffer_;
};

// The whole contents at once.
inline void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
    AtomicFile file(path);
    file.write(bytes);
    file.commit();
}

// Contents produced by `fill(AtomicFile&)`; if fill throws, the target is untouched.
template <class Fill>
    requires std::invocable<Fill&, AtomicFile&>
void write_file_atomically(const std::filesystem::path& path, Fill&& fill) {
    AtomicFile file(path);
    fill(file);
    file.commit();
}

}  // namespace typenet::io
