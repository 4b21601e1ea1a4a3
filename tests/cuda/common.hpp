// tests/cuda/common.hpp
// What the CUDA test files share: includes, the CPU reference device with im2col
// convolutions (cpu_im2col), and small host/device helpers.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <unistd.h>

#include <xtensor/xadapt.hpp>
#include <xtensor/xtensor.hpp>

#include <typenet/cuda.cuh>

#include "check.hpp"

namespace tn = typenet;
using cuda_test::check;
using cuda_test::check_close;
using cuda_test::check_equal;
using CpuKernels = tn::Kernels<tn::cpu>;
using GpuKernels = tn::Kernels<tn::cuda>;

// The reference for whole training steps: the CPU backend with every convolution as
// im2col + GEMM, the GPU's algorithm. The default CPU path takes Winograd where it applies,
// whose rounding (about 1e-6 of the activations) differs from a GEMM's enough to flip a
// max-pool argmax where two window values nearly tie; the gradient then flows to another
// pixel and a whole kernel-gradient column moves by 1e-3. Both backends are right, so
// full steps compare like with like. Kernels and single layers are compared with the
// default CPU path (Winograd included).
struct cpu_im2col {
    static constexpr std::string_view name = "cpu (im2col convolutions)";
};

namespace typenet {
template <class T>
class Buffer<cpu_im2col, T> : public Buffer<cpu, T> {
public:
    using Buffer<cpu, T>::Buffer;
};

template <>
struct Kernels<cpu_im2col> : Kernels<cpu> {
    static void conv2d_forward_im2col(const ConvGeometry& g, const float* x, std::size_t batch, const float* kernel,
                                      const float* bias, float* y, ActivationKind act, Buffer<cpu_im2col>&) {
        cpu_kernels::conv2d_forward_by(cpu_kernels::ConvMethod::im2col, g, x, batch, kernel, bias, y, act);
    }
    static void conv2d_backward_im2col(const ConvGeometry& g, const float* x, std::size_t batch, const float* kernel,
                                       const float* dz, float* dx, float* dkernel, float* dbias, Buffer<cpu_im2col>&) {
        cpu_kernels::conv2d_backward_by(cpu_kernels::ConvMethod::im2col, g, x, batch, kernel, dz, dx, dkernel, dbias);
    }
    static constexpr auto conv2d_forward = conv2d_forward_im2col;
    static constexpr auto conv2d_backward = conv2d_backward_im2col;
};
}  // namespace typenet

namespace {

inline std::vector<float> random_vector(std::size_t n, std::uint64_t seed, float low = -1.0f, float high = 1.0f) {
    tn::Random rng(seed);
    std::vector<float> v(n);
    for (float& x : v) x = rng.uniform(low, high);
    return v;
}

template <class T>
inline tn::Buffer<tn::cuda, T> to_device(const std::vector<T>& host) {
    tn::Buffer<tn::cuda, T> buffer;
    buffer.upload(host.data(), host.size());
    return buffer;
}

template <class T>
inline std::vector<T> to_host(const tn::Buffer<tn::cuda, T>& buffer) {
    std::vector<T> host(buffer.size());
    buffer.download(host.data(), host.size());
    return host;
}

inline const char* activation_text(tn::ActivationKind act) { return tn::activation_name(act).data(); }

constexpr tn::ActivationKind all_activations[] = {tn::ActivationKind::linear, tn::ActivationKind::relu,
                                                  tn::ActivationKind::sigmoid, tn::ActivationKind::softmax};

}  // namespace
