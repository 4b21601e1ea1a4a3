// benchmarks/gpu/workloads.hpp
// What gpu_benchmark.cu and backbone_workloads.cu share: options, timing, and an
// inference workload over any model type.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <typenet/cuda.cuh>

namespace tn = typenet;

namespace gpu_benchmark {

struct Options {
    int iterations = 20;
    int warmup = 3;
    std::string workload;   // empty: all
    std::string precision;  // empty: both
};

inline std::vector<float> random_vector(std::size_t n, std::uint64_t seed, float low, float high) {
    tn::Random rng(seed);
    std::vector<float> v(n);
    for (float& x : v) x = rng.uniform(low, high);
    return v;
}

// Runs `step` warmup + iterations times; returns seconds per step (device work included).
inline double time_steps(const Options& options, const std::function<void()>& step) {
    for (int i = 0; i < options.warmup; ++i) step();
    tn::cuda_context().synchronize();
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < options.iterations; ++i) step();
    tn::cuda_context().synchronize();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / options.iterations;
}

// Inference on a batch of 32 already on the device.
template <class Base>
double forward_steps(const Options& options) {
    using Net = tn::on<tn::cuda, Base>;
    constexpr std::size_t batch = 32;
    auto model = std::make_unique<Net>();
    const auto x = random_vector(batch * Net::input_shape::size, 1, 0.0f, 1.0f);
    tn::Buffer<tn::cuda> input, output(batch * Net::output_shape::size);
    input.upload(x.data(), x.size());
    model->reserve(batch);
    return time_steps(options, [&] { model->forward(input.data(), output.data(), batch, tn::Mode::infer); });
}

// Defined in backbone_workloads.cu (built with -DTYPENET_CUDA_BACKBONES=ON).
double resnet50_forward(const Options& options);
double mobilenetv2_forward(const Options& options);

}  // namespace gpu_benchmark
