// tests/cuda/check.hpp
// A small test harness for the CUDA tests. They must build and run on a GPU machine
// that has nvcc but no Boost, and exit 77 ("skipped" to ctest) where there is no GPU,
// so they are a plain program: test cases register themselves, run in order (or those
// whose name contains argv[1]), and every comparison prints its largest error.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace cuda_test {

struct TestCase {
    const char* name;
    void (*run)();
};

inline std::vector<TestCase>& registry() {
    static std::vector<TestCase> cases;
    return cases;
}

struct Register {
    Register(const char* name, void (*run)()) { registry().push_back({name, run}); }
};

inline int& failures() {
    static int count = 0;
    return count;
}
inline int& checks() {
    static int count = 0;
    return count;
}

inline void fail(const std::string& message) {
    ++failures();
    std::printf("    FAIL %s\n", message.c_str());
}

inline void check(bool ok, const std::string& what) {
    ++checks();
    if (!ok) fail(what);
}

// The max relative error of `got` against `expected`, as the CPU kernel tests measure it
// (tests/cpu/reference.hpp): the largest |got - expected| over the largest |expected|.
// Elementwise ratios would measure entries that cancel to nearly zero (sums of thousands
// of terms, added in another order, or by Winograd on the CPU) against their own
// rounding noise; a wrong index or a missing term still shows as an error near 1.
struct Comparison {
    double max_relative_error = 0.0;
    std::size_t worst = 0;
    bool sizes_match = true;
    bool finite = true;
};

inline Comparison compare(const std::vector<float>& got, const std::vector<float>& expected) {
    Comparison result;
    if (got.size() != expected.size()) {
        result.sizes_match = false;
        return result;
    }
    double scale = 0.0, largest = 0.0;
    for (float e : expected)
        if (std::isfinite(e)) scale = std::max(scale, static_cast<double>(std::fabs(e)));
    for (std::size_t i = 0; i < got.size(); ++i) {
        if (!std::isfinite(got[i]) || !std::isfinite(expected[i])) {
            if (!(std::isnan(got[i]) && std::isnan(expected[i])) && got[i] != expected[i]) result.finite = false;
            continue;
        }
        const double difference = std::fabs(static_cast<double>(got[i]) - expected[i]);
        if (difference > largest) {
            largest = difference;
            result.worst = i;
        }
    }
    result.max_relative_error = scale == 0.0 ? largest : largest / scale;
    return result;
}

// GPU result against the CPU's: max relative error under `tolerance` (1e-4 by default).
inline void check_close(const std::string& what, const std::vector<float>& gpu, const std::vector<float>& cpu,
                        double tolerance = 1e-4) {
    ++checks();
    const Comparison c = compare(gpu, cpu);
    if (!c.sizes_match) {
        fail(what + ": " + std::to_string(gpu.size()) + " values on the GPU, " + std::to_string(cpu.size()) +
             " on the CPU");
        return;
    }
    const bool ok = c.finite && c.max_relative_error < tolerance;
    char line[320];
    std::snprintf(line, sizeof line, "%s: max relative error %.2e over %zu values%s", what.c_str(),
                  c.max_relative_error, cpu.size(), c.finite ? "" : " (a non-finite value differs)");
    if (!ok) {
        char detail[160];
        if (!cpu.empty())
            std::snprintf(detail, sizeof detail, " (worst at %zu: gpu %.9g, cpu %.9g)", c.worst,
                          static_cast<double>(gpu[c.worst]), static_cast<double>(cpu[c.worst]));
        fail(std::string(line) + (cpu.empty() ? "" : detail));
    } else {
        std::printf("    ok   %s\n", line);
    }
}

// Bit-for-bit equality (dropout masks, argmax, loaded weights).
template <class T>
void check_equal(const std::string& what, const std::vector<T>& gpu, const std::vector<T>& cpu) {
    ++checks();
    if (gpu.size() != cpu.size()) {
        fail(what + ": sizes differ (" + std::to_string(gpu.size()) + " vs " + std::to_string(cpu.size()) + ")");
        return;
    }
    std::size_t differ = 0, first = 0;
    for (std::size_t i = 0; i < gpu.size(); ++i)
        if (!(gpu[i] == cpu[i])) {
            if (differ++ == 0) first = i;
        }
    if (differ != 0)
        fail(what + ": " + std::to_string(differ) + " of " + std::to_string(cpu.size()) +
             " values differ, the first at " + std::to_string(first));
    else
        std::printf("    ok   %s: all %zu values identical\n", what.c_str(), cpu.size());
}

// Runs the registered cases; returns the process exit code.
inline int run_all(std::string_view filter) {
    int ran = 0;
    for (const TestCase& test : registry()) {
        if (!filter.empty() && std::string_view(test.name).find(filter) == std::string_view::npos) continue;
        ++ran;
        std::printf("[ RUN  ] %s\n", test.name);
        std::fflush(stdout);
        const int before = failures();
        try {
            test.run();
        } catch (const std::exception& e) {
            fail(std::string("exception: ") + e.what());
        }
        std::printf("[ %s ] %s\n", failures() == before ? " OK " : "FAIL", test.name);
        std::fflush(stdout);
    }
    std::printf("%d test cases, %d checks, %d failures\n", ran, checks(), failures());
    if (ran == 0) {
        std::printf("no test case matches '%.*s'\n", static_cast<int>(filter.size()), filter.data());
        return 1;
    }
    return failures() == 0 ? 0 : 1;
}

}  // namespace cuda_test

#define CUDA_TEST_CASE(name)                                                  \
    static void name();                                                       \
    static const ::cuda_test::Register name##_registration(#name, &name);     \
    static void name()
