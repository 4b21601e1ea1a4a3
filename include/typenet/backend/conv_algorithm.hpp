// typenet/backend/conv_algorithm.hpp
// Which algorithm the CPU backend's convolutions use, process-wide:
//
//   tn::set_conv_algorithm(tn::ConvAlgorithm::im2col);
//
//   automatic      the default: per shape, the fastest method whose rounding error is at
//                  most 1.25x im2col's (winograd for 3x3 stride 1 with 8+ channels in and
//                  out, direct for up to 4 input channels, im2col otherwise)
//   im2col         patch rows and one GEMM per block: every shape
//   winograd       Winograd F(2x2, 3x3): 3x3 stride 1 with 8+ input and output channels;
//                  2.25x fewer multiplies than im2col, rounding error within 1.25x of
//                  im2col's (0.45-1.22x measured)
//   winograd_fast  Winograd F(4x4, 3x3), same shapes: 4x fewer multiplies, but 2-8x
//                  im2col's rounding error
//   direct         the few-channel register kernel: up to 4 input channels, output
//                  channels a multiple of 16 (at most 64), at most 64 taps
//
// A method asked for where it cannot do the shape (winograd on a strided or 5x5
// convolution, direct on 64 input channels) falls back to im2col for that layer: a
// network mixes shapes, and one setting must run all of them. docs/training.md gives
// the measured error of each.
//
// The environment variable TYPENET_CONV_ALGORITHM (one of the names above), when set
// and not empty, overrides set_conv_algorithm: a run can be switched without a rebuild.
// The CUDA backend ignores both (im2col + cuBLAS on every shape).
#pragma once

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

namespace typenet {

enum class ConvAlgorithm { automatic, im2col, winograd, winograd_fast, direct };

inline const char* conv_algorithm_name(ConvAlgorithm a) {
    switch (a) {
        case ConvAlgorithm::im2col: return "im2col";
        case ConvAlgorithm::winograd: return "winograd";
        case ConvAlgorithm::winograd_fast: return "winograd_fast";
        case ConvAlgorithm::direct: return "direct";
        default: return "automatic";
    }
}

// The algorithm a name means; `where` names the flag or variable in the error.
inline ConvAlgorithm parse_conv_algorithm(std::string_view name, std::string_view where = "conv algorithm") {
    for (ConvAlgorithm a : {ConvAlgorithm::automatic, ConvAlgorithm::im2col, ConvAlgorithm::winograd,
                            ConvAlgorithm::winograd_fast, ConvAlgorithm::direct})
        if (name == conv_algorithm_name(a)) return a;
    throw std::invalid_argument(std::string(where) + ": unknown convolution algorithm '" + std::string(name) +
                                "' (expected automatic, im2col, winograd, winograd_fast or direct)");
}

namespace detail {
inline std::atomic<ConvAlgorithm>& conv_algorithm_setting() {
    static std::atomic<ConvAlgorithm> setting{ConvAlgorithm::automatic};
    return setting;
}
}  // namespace detail

// Sets the algorithm for every later convolution of the process (all threads).
inline void set_conv_algorithm(ConvAlgorithm a) { detail::conv_algorithm_setting().store(a); }

// The algorithm in force: TYPENET_CONV_ALGORITHM if set, else set_conv_algorithm's.
// Read on every call (a convolution takes far longer than getenv), so the variable
// acts whenever it is set.
inline ConvAlgorithm conv_algorithm() {
    if (const char* env = std::getenv("TYPENET_CONV_ALGORITHM"); env != nullptr && *env != '\0')
        return parse_conv_algorithm(env, "TYPENET_CONV_ALGORITHM");
    return detail::conv_algorithm_setting().load();
}

}  // namespace typenet
