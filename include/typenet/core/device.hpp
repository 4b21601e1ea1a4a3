// typenet/core/device.hpp
// Device tags. Layers are written once and reach their kernels through one of
// these tags; CUDA specialisations live in backend/cuda and need nvcc.
#pragma once

#include <string_view>

// Functions that CUDA kernels call too (hashes, index math).
#if defined(__CUDACC__)
#define TYPENET_HOST_DEVICE __host__ __device__
#else
#define TYPENET_HOST_DEVICE
#endif

namespace typenet {

struct cpu {
    static constexpr std::string_view name = "cpu";
};
struct cuda {
    static constexpr std::string_view name = "cuda";
};

// Whether a layer is run for training (dropout active, activations kept for
// backward) or for inference.
enum class Mode { train, infer };

}  // namespace typenet
