// typenet/backend/cpu/scratch.hpp
// Scratch memory the CPU convolution kernels share: transformed kernels, tile and
// patch blocks. One set for the whole process, not one per layer, so a deep model
// holds the largest layer's scratch once instead of every layer's (VGG-16: tens of
// MB instead of hundreds). The buffers only grow, so after the first batch a training
// step allocates nothing. A kernel holds lock() while it uses them, which also makes
// two models on two user threads take turns inside the convolutions.
#pragma once

#include <array>
#include <cstddef>
#include <mutex>

#include "typenet/backend/cpu/parallel.hpp"
#include "typenet/core/buffer.hpp"

namespace typenet::cpu_kernels {

class CpuScratch {
public:
    static CpuScratch& instance() {
        static CpuScratch scratch;
        return scratch;
    }

    [[nodiscard]] std::unique_lock<std::mutex> lock() { return std::unique_lock(mutex_); }

    // Buffer `which` (0 or 1) of at least `floats` floats, for the whole job.
    float* shared(std::size_t which, std::size_t floats) {
        shared_[which].ensure(floats);
        return shared_[which].data();
    }

    // Room for `floats` floats per pool thread; thread `slot` uses
    // base + slot * per_thread_stride(floats). Call before posting the job.
    float* per_thread(std::size_t floats) {
        per_thread_.ensure(per_thread_stride(floats) * static_cast<std::size_t>(cpu_threads()));
        return per_thread_.data();
    }
    static constexpr std::size_t per_thread_stride(std::size_t floats) { return (floats + 15) / 16 * 16; }

    // Bytes held now (for memory reports).
    [[nodiscard]] std::size_t bytes() const { return shared_[0].bytes() + shared_[1].bytes() + per_thread_.bytes(); }

private:
    CpuScratch() = default;
    std::mutex mutex_;
    std::array<Buffer<cpu>, 2> shared_;
    Buffer<cpu> per_thread_;
};

}  // namespace typenet::cpu_kernels
