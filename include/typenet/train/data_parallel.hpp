// typenet/train/data_parallel.hpp
// What Trainer needs from a data-parallel group of processes (ranks), without naming the
// transport: typenet/distributed/ implements it over MPI (and NCCL between GPUs). While a
// group is active (set_data_parallel), Trainer::fit and evaluate run data-parallel:
//
//   - parameters are broadcast from rank 0 when fit starts (and after each epoch's
//     callbacks, which run on rank 0 only);
//   - every rank reads only its slice of each global batch (typenet/data/shard.hpp);
//   - the loss gradient is scaled by 1 / (samples in the whole global batch), so the sum
//     of the ranks' gradients is the one-process gradient of the global batch's mean loss;
//   - gradients are summed in buckets, started as soon as backward has finished a layer;
//   - losses, metrics and sample counts are summed; only rank 0 prints and writes files.
//   - with FitOptions::reduction_chunk, gradients are instead summed chunk by chunk in one
//     fixed tree (ordered_sum), so N ranks give one process's gradients bit for bit.
#pragma once

#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace typenet {

// A gradient to sum over the ranks, in place: `count` floats in host or device memory.
struct GradientTensor {
    float* data;
    std::size_t count;
    bool device_memory;
};

class DataParallel {
public:
    virtual ~DataParallel() = default;
    [[nodiscard]] virtual std::size_t rank() const = 0;
    [[nodiscard]] virtual std::size_t size() const = 0;

    // Sums `values` (host doubles: counts, loss sums, flags) over the ranks, in place.
    virtual void sum(std::span<double> values, std::string_view what) = 0;
    // Rank 0's `count` floats to every rank.
    virtual void broadcast(float* data, std::size_t count, bool device_memory, std::string_view what) = 0;
    // Every rank calls this with its own failure ("" when it has none) after a sum showed
    // that some rank failed; all get the failure of the lowest failing rank, "rank r: ...".
    virtual std::string agree_on_failure(const std::string& failure) = 0;

    // One step's gradient sums: begin with the tensors in the order backward finishes
    // them, ready(i) once tensor i is final (sending may start), finish() waits until
    // every tensor holds the sum over the ranks.
    virtual void begin_gradients(std::span<const GradientTensor> tensors) = 0;
    virtual void gradient_ready(std::size_t index) = 0;
    virtual void finish_gradients() = 0;

    // Fixed-order gradient sums (FitOptions::reduction_chunk), for a power-of-two number of
    // ranks: on entry each rank holds the sum of its node of the halving tree (Shard::chunk;
    // `empty` when its slice had no samples), on return every rank holds the whole tree's
    // sum, combined pairwise as (lower ranks' block) + (upper ranks' block), level by level:
    // the additions one process does at the top of the same tree, so the same bits.
    [[nodiscard]] virtual bool has_ordered_sum() const { return false; }
    virtual void ordered_sum(std::span<const GradientTensor> /*tensors*/, bool /*empty*/) {
        throw std::logic_error("this data-parallel group cannot sum gradients in a fixed order");
    }
};

// The group Trainer uses, or null (a single process, the default).
inline DataParallel*& active_data_parallel_slot() {
    static DataParallel* group = nullptr;
    return group;
}
[[nodiscard]] inline DataParallel* active_data_parallel() {
    DataParallel* group = active_data_parallel_slot();
    return group != nullptr && group->size() > 1 ? group : nullptr;
}
inline void set_data_parallel(DataParallel* group) { active_data_parallel_slot() = group; }

}  // namespace typenet
