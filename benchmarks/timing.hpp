// benchmarks/timing.hpp
// What the CPU benchmarks (cpu_workloads, conv_layers, backbone_layers) share: reproducible random
// operands, the median time of a step, and the machine's FP32 FMA ceiling that their
// rates are reported against.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <random>
#include <vector>

#include "typenet/backend/cpu/parallel.hpp"
#include "typenet/backend/cpu/simd.hpp"

namespace bench {

using clock_type = std::chrono::steady_clock;

// `count` values uniform in [-1, 1), the same for the same seed.
inline std::vector<float> random_values(std::size_t count, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::vector<float> v(count);
    for (auto& x : v) x = dist(rng);
    return v;
}

// Median seconds of `iterations` calls of step() after `warmup` untimed ones (scratch sized,
// caches and threads awake).
template <class Step>
double median_seconds(int warmup, int iterations, Step&& step) {
    for (int i = 0; i < warmup; ++i) step();
    std::vector<double> seconds;
    for (int i = 0; i < iterations; ++i) {
        const auto start = clock_type::now();
        step();
        seconds.push_back(std::chrono::duration<double>(clock_type::now() - start).count());
    }
    std::sort(seconds.begin(), seconds.end());
    const std::size_t n = seconds.size();
    return n % 2 ? seconds[n / 2] : 0.5 * (seconds[n / 2 - 1] + seconds[n / 2]);
}

// GFLOP/s of FP32 FMAs on every thread: 16 independent chains per task, enough to cover
// the FMA latency on two pipes, for the instruction set the kernels run; many short tasks,
// so that a thread that wakes late still gets its share.
inline double fma_ceiling() {
    namespace simd = typenet::cpu_kernels::simd;
    constexpr std::size_t chains = 16, steps = 100'000;
    const std::size_t threads = static_cast<std::size_t>(typenet::cpu_threads()), tasks = 32 * threads;
    std::vector<float> sink(tasks * simd::lanes);
    const std::vector<float> scale_values(simd::lanes, 0.999999f), shift_values(simd::lanes, 1e-7f);
    auto run = [&] {
        typenet::parallel_tasks(tasks, [&](std::size_t task, unsigned) {
            simd::run([&]() TYPENET_SIMD {
                simd::vfloat acc[chains], scale, shift;
                simd::load(scale, scale_values.data());
                simd::load(shift, shift_values.data());
                for (std::size_t c = 0; c < chains; ++c) acc[c] = shift * float(c);
                for (std::size_t i = 0; i < steps; ++i)
                    TYPENET_UNROLL(16)
                    for (std::size_t c = 0; c < chains; ++c) acc[c] = acc[c] * scale + shift;
                for (std::size_t c = 1; c < chains; ++c) acc[0] += acc[c];
                simd::store(sink.data() + task * simd::lanes, acc[0]);  // keeps the loop
            });
        });
    };
    // The best of several runs, not the median: a ceiling (the first runs after the pool
    // starts can find a thread not yet on its core).
    double seconds = 1e30;
    for (int i = 0; i < 9; ++i) {
        const auto start = clock_type::now();
        run();
        seconds = std::min(seconds, std::chrono::duration<double>(clock_type::now() - start).count());
    }
    return 2.0 * double(chains * steps * simd::lanes * tasks) / seconds / 1e9;
}

}  // namespace bench
