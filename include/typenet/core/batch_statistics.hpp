// typenet/core/batch_statistics.hpp
// Synchronised batch statistics: while a data-parallel trainer runs a training step, it
// sets a BatchStatisticsSum for the thread (SumBatchStatistics), and a layer that
// normalises with its batch's statistics (BatchNormalization) sums its per-channel sums
// over all ranks through it, so every rank normalises with the statistics of the whole
// global batch, as one process does. No MPI here: the trainer's DataParallel does the sum.
// None (null) in one process: the layer's own batch is the whole batch.
#pragma once

#include <cstddef>
#include <span>

#include "typenet/core/scoped_hook.hpp"

namespace typenet {

class BatchStatisticsSum {
public:
    virtual ~BatchStatisticsSum() = default;
    // Replaces `values` by their sum over all ranks. Every rank calls it the same number of
    // times in the same order (the same layers run on every rank, also with no samples).
    virtual void sum(std::span<double> values) = 0;
};

inline BatchStatisticsSum*& batch_statistics_sum() { return current_hook<BatchStatisticsSum>(); }

// Sets the thread's BatchStatisticsSum for a scope.
using SumBatchStatistics = ScopedHook<BatchStatisticsSum>;

}  // namespace typenet
