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
// A save killed before its rename (kill -9, power loss) leaves its temporary file
// behind. The next save of the same target removes such leftovers: temporary files are
// named ".<target name>.tmp-<pid>-...", and a sibling with that prefix is stale when its
// process is gone (or is this process but not one of its open saves: a restarted
// container reuses pids). Leftovers of a live process are never touched.
//
// Errors are std::filesystem::filesystem_error: what() names the path and the OS
// error ("cannot create a temporary file next to 'out/w.safetensors': No such file or
// directory"), code() holds errno. POSIX only (open/fsync/rename), as the library is.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <set>
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

// ".<target name>.tmp-": what every temporary file of `target` starts with.
inline std::string temporary_prefix(const std::filesystem::path& target) {
    return "." + target.filename().string() + ".tmp-";
}

// A name no other writer uses at the same time: process id, a per-process counter
// and the clock, so that concurrent saves of the same target never share a file.
inline std::filesystem::path temporary_sibling(const std::filesystem::path& target) {
    static std::atomic<std::uint64_t> counter{0};
    const auto ticks = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    std::string name = temporary_prefix(target) + std::to_string(::getpid()) + "-" +
                       std::to_string(counter.fetch_add(1)) + "-" + std::to_string(ticks % 1'000'000'007ULL);
    return target.parent_path() / name;
}

// The temporary files this process has open now (saves in progress, on any thread).
struct OpenTemporaries {
    std::mutex mutex;
    std::set<std::string> names;
};
inline OpenTemporaries& open_temporaries() {
    static OpenTemporaries registry;
    return registry;
}

// Whether the process that made a temporary file with this pid can still be writing it.
inline bool writer_alive(long pid, const std::filesystem::path& file) {
    if (pid == static_cast<long>(::getpid())) {
        auto& registry = open_temporaries();
        const std::lock_guard lock(registry.mutex);
        return registry.names.contains(file.string());
    }
    if (pid <= 0) return true;  // not one of our names: leave it
    return !(::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH);  // EPERM: alive, another user's
}

// Removes the temporary files of `target` that killed saves left behind. Best effort:
// a directory that cannot be listed, or a file that cannot be removed, is left as it is.
inline void remove_stale_temporaries(const std::filesystem::path& target) noexcept {
    try {
        const std::string prefix = temporary_prefix(target);
        const std::filesystem::path directory = target.parent_path().empty() ? "." : target.parent_path();
        std::error_code error;
        for (std::filesystem::directory_iterator it(directory, error), end; !error && it != end; it.increment(error)) {
            const std::string name = it->path().filename().string();
            if (!name.starts_with(prefix)) continue;
            const std::string_view rest = std::string_view(name).substr(prefix.size());
            long pid = 0;
            const auto [stop, problem] = std::from_chars(rest.data(), rest.data() + rest.size(), pid);
            if (problem != std::errc() || stop == rest.data() || stop == rest.data() + rest.size() || *stop != '-')
                continue;  // not a name temporary_sibling makes
            const std::filesystem::path file = target.parent_path() / name;
            if (!writer_alive(pid, file)) ::unlink(it->path().c_str());
        }
    } catch (...) {  // allocation failure while listing: the leftovers wait for the next save
    }
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
            register_temporary(true);  // before it exists, so no cleanup on another thread takes it
            // 0666 less the umask: the file gets the permissions an ordinary create would give.
            fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
            if (fd_ < 0) {
                const int error = errno;
                register_temporary(false);
                temporary_.clear();
                if (error != EEXIST)
                    detail::throw_os_error("cannot create a temporary file next to the target", target_, error);
            }
        }
        if (fd_ < 0) detail::throw_os_error("cannot create a unique temporary file next to the target", target_, EEXIST);
        detail::remove_stale_temporaries(target_);
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
        register_temporary(false);
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
            register_temporary(false);
            temporary_.clear();
        }
    }
    void register_temporary(bool open) noexcept {
        auto& registry = detail::open_temporaries();
        const std::lock_guard lock(registry.mutex);
        try {
            if (open)
                registry.names.insert(temporary_.string());
            else
                registry.names.erase(temporary_.string());
        } catch (...) {  // out of memory: at worst a cleanup on another thread misses this file's owner
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
