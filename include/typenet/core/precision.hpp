// typenet/core/precision.hpp
// The arithmetic precision of inference on the CPU, process-wide and opt-in:
//
//   tn::set_inference_precision(tn::Precision::bf16);   // or, for a scope:
//   tn::ScopedInferencePrecision bf16(tn::Precision::bf16);
//
//   fp32  the default, and the Keras-parity path: every product in float32.
//   bf16  Mode::infer's Conv2D and Dense layers on the CPU round their inputs and weights
//         to bfloat16 (8 bits of mantissa) and multiply them with the CPU's bf16 dot
//         product (vdpbf16ps, AVX512_BF16), adding in float32 (backend/cpu/bf16.hpp).
//         About twice the products per instruction; features within 1e-2 of FP32 relative
//         to the largest value on VGG-16 and ResNet-50 (tests/cpu/test_bf16.cpp).
//         Everything else (BatchNormalization folding, pooling, depthwise convolutions,
//         activations, every training step and every gradient) stays float32.
//
// A runtime switch, not a type parameter: the same model type serves training in FP32
// and inference in bf16, and a deployment picks the precision after seeing the CPU.
// bf16 on a CPU without AVX512_BF16 is an error (std::runtime_error naming the missing
// instruction set), not a silent fallback: the caller asked for a speed it would not get.
// The CUDA backend ignores the setting (its layers run FP32, or TF32 when asked).
#pragma once

#include <atomic>
#include <stdexcept>
#include <type_traits>

#include "typenet/core/device.hpp"

namespace typenet {

enum class Precision { fp32, bf16 };

inline const char* precision_name(Precision p) { return p == Precision::bf16 ? "bf16" : "fp32"; }

// Whether this build and this CPU can run bf16 inference: an x86-64 GCC-compatible
// compiler (not nvcc's front end) and a CPU (and OS) with AVX-512 and AVX512_BF16.
[[nodiscard]] inline bool bf16_supported() {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__CUDACC__)
    static const bool supported = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
    }();
    return supported;
#else
    return false;
#endif
}

namespace detail {
inline std::atomic<Precision>& inference_precision_setting() {
    static std::atomic<Precision> setting{Precision::fp32};
    return setting;
}
}  // namespace detail

// Sets the precision of every later inference (all threads). bf16 where the CPU lacks
// AVX512_BF16 throws and leaves the setting as it was.
inline void set_inference_precision(Precision p) {
    if (p == Precision::bf16 && !bf16_supported())
        throw std::runtime_error(
            "typenet: set_inference_precision(Precision::bf16) needs a CPU with AVX512_BF16 (the vdpbf16ps "
            "instruction: Intel Cooper Lake / Sapphire Rapids, AMD Zen 4 or newer) and an x86-64 build; this one "
            "lacks it, so inference stays FP32");
    detail::inference_precision_setting().store(p);
}

[[nodiscard]] inline Precision inference_precision() { return detail::inference_precision_setting().load(); }

// Sets the precision for a scope and restores the one before at its end.
class ScopedInferencePrecision {
public:
    explicit ScopedInferencePrecision(Precision p) : before_(inference_precision()) { set_inference_precision(p); }
    ~ScopedInferencePrecision() { detail::inference_precision_setting().store(before_); }
    ScopedInferencePrecision(const ScopedInferencePrecision&) = delete;
    ScopedInferencePrecision& operator=(const ScopedInferencePrecision&) = delete;

private:
    Precision before_;
};

// Whether a layer on Device runs this forward pass in bf16: CPU, Mode::infer, bf16 set.
template <class Device>
[[nodiscard]] bool bf16_inference(Mode mode) {
    return std::is_same_v<Device, cpu> && mode == Mode::infer && inference_precision() == Precision::bf16;
}

}  // namespace typenet
