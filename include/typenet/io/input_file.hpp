// typenet/io/input_file.hpp
// A file opened for reading by offset, for the readers of binary formats: its size is
// known up front (so a header can be checked against it before anything is
// allocated), and every failure is a FormatError naming the file and the OS error.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

#include "typenet/io/format_error.hpp"

namespace typenet::io {

class InputFile {
public:
    explicit InputFile(std::filesystem::path path) : path_(std::move(path)) {
        fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) throw FormatError(path_, std::string("cannot open the file: ") + std::strerror(errno));
        struct stat info {};
        if (::fstat(fd_, &info) != 0) {
            const int error = errno;
            ::close(fd_);
            throw FormatError(path_, std::string("cannot read the file's size: ") + std::strerror(error));
        }
        if (S_ISDIR(info.st_mode)) {
            ::close(fd_);
            throw FormatError(path_, "is a directory, not a file");
        }
        size_ = static_cast<std::uint64_t>(info.st_size);
    }
    InputFile(const InputFile&) = delete;
    InputFile& operator=(const InputFile&) = delete;
    ~InputFile() { ::close(fd_); }

    [[nodiscard]] std::uint64_t size() const { return size_; }
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

    // Exactly `count` bytes from `offset`; a short read means the file changed or is
    // truncated, which is reported rather than returning garbage.
    void read_at(std::uint64_t offset, void* destination, std::size_t count) const {
        char* out = static_cast<char*>(destination);
        while (count > 0) {
            const ssize_t got = ::pread(fd_, out, count, static_cast<off_t>(offset));
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) throw FormatError(path_, std::string("cannot read the file: ") + std::strerror(errno));
            if (got == 0)
                throw FormatError(path_, "the file ended early at byte " + std::to_string(offset) +
                                             " (was it truncated while being read?)");
            out += got;
            offset += static_cast<std::uint64_t>(got);
            count -= static_cast<std::size_t>(got);
        }
    }

private:
    std::filesystem::path path_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
};

}  // namespace typenet::io
