// tests/support/child_process.hpp
// Runs a reader on a hostile file in a fresh child process (fork), to check what a test
// in-process cannot: that it fails with an exception rather than a crash, and how much
// memory it took at its peak (the child's own maximum resident set, from wait4).
// The child's address space is capped a few GiB above what it inherits (except under
// AddressSanitizer, which reserves terabytes), so a reader that regresses into a
// gigantic allocation fails fast instead of swapping a shared machine to death.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <exception>
#include <string>

namespace typenet_test {

struct ChildOutcome {
    bool threw = false;         // the action ended with a std::exception (message holds what())
    bool returned = false;      // the action returned normally
    int signal = 0;             // the signal that killed the child, 0 if none
    long peak_rss_kb = 0;       // the child's peak resident memory
    long start_rss_kb = 0;      // the parent's resident memory when it forked: the child's start
    std::string message;

    [[nodiscard]] double peak_rss_mb() const { return static_cast<double>(peak_rss_kb) / 1024.0; }
    // What the action itself added at its peak: the peak less what the child inherited, so a
    // bound on it does not move with what the test process held before (earlier test cases).
    [[nodiscard]] double added_mb() const { return static_cast<double>(peak_rss_kb - start_rss_kb) / 1024.0; }
    [[nodiscard]] std::string describe() const {
        if (signal != 0) return "killed by signal " + std::to_string(signal) + " (" + message + ")";
        if (returned) return "returned without an error";
        if (threw) return "threw: " + message;
        return "ended oddly: " + message;
    }
};

namespace detail {
inline constexpr bool under_address_sanitizer() {
#if defined(__SANITIZE_ADDRESS__)
    return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return true;
#else
    return false;
#endif
#else
    return false;
#endif
}

}  // namespace detail

// The peak resident memory a hostile-file test allows a reader's child process. The bound is
// for the plain build; AddressSanitizer's shadow memory and quarantine add a few hundred MB to
// any process that decodes images or opens libhdf5, so a sanitized build gets 4x the room, still
// far below the gigabytes the unbounded readers took.
inline constexpr double memory_bound_mb(double plain_mb) {
    return detail::under_address_sanitizer() ? 4.0 * plain_mb : plain_mb;
}

// This process's resident memory now (VmRSS in /proc/self/status), in KiB; 0 if unknown.
// A child forked now starts from it, so a child's peak minus it is what the child added.
inline long resident_kb() {
    long kb = 0;
    if (std::FILE* status = std::fopen("/proc/self/status", "r")) {
        char line[256];
        while (std::fgets(line, sizeof(line), status) != nullptr)
            if (std::sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
        std::fclose(status);
    }
    return kb;
}

namespace detail {
inline void cap_address_space(unsigned long long headroom_bytes) {
    if (under_address_sanitizer()) return;
    unsigned long long pages = 0;
    if (std::FILE* statm = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(statm, "%llu", &pages) != 1) pages = 0;
        std::fclose(statm);
    }
    if (pages == 0) return;
    const unsigned long long limit = pages * static_cast<unsigned long long>(::sysconf(_SC_PAGESIZE)) + headroom_bytes;
    const rlimit cap{limit, limit};
    ::setrlimit(RLIMIT_AS, &cap);
}
}  // namespace detail

// Runs `action` in a child process and reports how it ended and its peak memory.
template <class Action>
ChildOutcome run_in_child(Action&& action, unsigned long long headroom_bytes = 4ull << 30) {
    int pipe_fds[2];
    ChildOutcome outcome;
    if (::pipe(pipe_fds) != 0) {
        outcome.message = "pipe failed";
        return outcome;
    }
    std::fflush(nullptr);
    outcome.start_rss_kb = resident_kb();
    const pid_t pid = ::fork();
    if (pid < 0) {
        outcome.message = "fork failed";
        return outcome;
    }
    if (pid == 0) {
        ::close(pipe_fds[0]);
        detail::cap_address_space(headroom_bytes);
        auto send = [&](char kind, const std::string& text) {
            std::string packet(1, kind);
            packet += text;
            const char* data = packet.data();
            std::size_t left = packet.size();
            while (left > 0) {
                const ssize_t wrote = ::write(pipe_fds[1], data, left);
                if (wrote < 0 && errno == EINTR) continue;
                if (wrote <= 0) break;
                data += wrote;
                left -= static_cast<std::size_t>(wrote);
            }
        };
        try {
            action();
            send('R', "");
        } catch (const std::exception& error) {
            send('E', error.what());
        } catch (...) {
            send('?', "an exception that is not a std::exception");
        }
        ::close(pipe_fds[1]);
        ::_exit(0);
    }
    ::close(pipe_fds[1]);
    std::string received;
    char buffer[4096];
    for (;;) {
        const ssize_t got = ::read(pipe_fds[0], buffer, sizeof(buffer));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        received.append(buffer, static_cast<std::size_t>(got));
    }
    ::close(pipe_fds[0]);
    int status = 0;
    rusage usage{};
    while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
    }
    outcome.peak_rss_kb = usage.ru_maxrss;
    if (WIFSIGNALED(status)) outcome.signal = WTERMSIG(status);
    if (!received.empty()) {
        outcome.threw = received[0] == 'E';
        outcome.returned = received[0] == 'R';
        outcome.message = received.substr(1);
    }
    return outcome;
}

}  // namespace typenet_test
