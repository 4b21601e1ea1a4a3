// tests/fuzz/fuzz_input.hpp
// libFuzzer hands a harness bytes; typenet's readers take paths. The bytes go into one
// in-memory file (memfd) per process, read back through /proc/self/fd/N: no disk, and
// the reader sees a real file with a size, as it would in use.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace typenet_fuzz {

class MemoryFile {
public:
    explicit MemoryFile(const char* name) : fd_(::memfd_create(name, 0)) {
        if (fd_ < 0) std::abort();
        path_ = "/proc/self/fd/" + std::to_string(fd_);
    }
    // Replaces the file's contents with `data` and returns its path.
    const std::string& hold(const std::uint8_t* data, std::size_t size) {
        if (::ftruncate(fd_, 0) != 0) std::abort();
        std::size_t done = 0;
        while (done < size) {
            const ssize_t wrote = ::pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
            if (wrote <= 0) std::abort();
            done += static_cast<std::size_t>(wrote);
        }
        return path_;
    }

private:
    int fd_;
    std::string path_;
};

}  // namespace typenet_fuzz
