// tests/cuda/compare_training.hpp
// Whole training steps of one model type on the GPU and on the CPU reference (cpu_im2col),
// compared step by step: what test_cuda_models.cu and test_cuda_backbones.cu share.
#pragma once

#include <string>
#include <vector>

#include "common.hpp"

namespace {

struct ParameterValues {
    std::string path;
    std::vector<float> values, gradients;
    bool trainable;
};

template <class Model>
std::vector<ParameterValues> parameters_of(Model& model) {
    std::vector<ParameterValues> out;
    model.for_each_parameter([&](std::string_view path, auto& p, bool trainable) {
        out.push_back({std::string(path) + "/" + std::string(p.name), p.values(), p.gradients(), trainable});
    });
    return out;
}

template <class CpuModel, class GpuModel>
void compare_parameters(const std::string& what, CpuModel& cpu, GpuModel& gpu, bool values) {
    const auto on_cpu = parameters_of(cpu);
    const auto on_gpu = parameters_of(gpu);
    check(on_cpu.size() == on_gpu.size(), what + ": the same parameters on both devices");
    for (std::size_t i = 0; i < on_cpu.size() && i < on_gpu.size(); ++i) {
        if (values || !on_cpu[i].trainable) check_close(what + ": " + on_cpu[i].path, on_gpu[i].values, on_cpu[i].values);
        if (on_cpu[i].trainable)
            check_close(what + ": gradient of " + on_cpu[i].path, on_gpu[i].gradients, on_cpu[i].gradients);
    }
}

std::vector<float> binary_labels(std::size_t n, std::uint64_t seed) {
    tn::Random rng(seed);
    std::vector<float> y(n);
    for (float& v : y) v = rng.uniform() < 0.5f ? 0.0f : 1.0f;
    return y;
}

// Training steps on the same batches on both devices: losses and metrics per step,
// then every gradient of the last step and, when `weights`, every weight after it.
// Weights after an RMSprop or Adam step are not compared: where a gradient is near
// epsilon (1e-7) the step lr * g / (sqrt(a) + epsilon) turns its last-bit differences
// into 1e-4 of the weight; the update kernels themselves are compared in
// optimizer_updates, and SGD steps (linear in g) compare the weights here.
template <class Spec, class Loss, class Opt, class Setup>
void compare_training(const std::string& what, std::size_t batch, int steps, Loss loss, Opt optimizer, Setup setup,
                      std::vector<float> (*labels)(std::size_t, std::uint64_t), bool weights) {
    tn::on<cpu_im2col, Spec> cpu_model;
    tn::on<tn::cuda, Spec> gpu_model;
    setup(cpu_model);
    setup(gpu_model);
    auto cpu_trainer = tn::compile(cpu_model, loss, optimizer);
    auto gpu_trainer = tn::compile(gpu_model, loss, optimizer);
    constexpr std::size_t in = Spec::input_shape::size;
    const std::size_t label_size = Loss::label_size(Spec::output_shape::size);
    for (int step = 0; step < steps; ++step) {
        const auto x = random_vector(batch * in, 300 + step, 0.0f, 1.0f);
        const auto y = labels(batch * label_size, 400 + step);
        const tn::Evaluation c = cpu_trainer.train_on_batch(x.data(), y.data(), batch);
        const tn::Evaluation g = gpu_trainer.train_on_batch(x.data(), y.data(), batch);
        check_close(what + ": step " + std::to_string(step + 1) + " loss and accuracy",
                    {static_cast<float>(g.loss), static_cast<float>(g.accuracy)},
                    {static_cast<float>(c.loss), static_cast<float>(c.accuracy)});
    }
    compare_parameters(what + " after " + std::to_string(steps) + " step(s)", cpu_model, gpu_model, weights);
}

}  // namespace
