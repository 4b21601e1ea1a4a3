// typenet/data/batch_source.hpp
// Where fit/evaluate/predict get their mini-batches. An epoch is one pass over
// size() samples; start_epoch(e) rewinds and (for shuffling or augmenting sources)
// redraws the order and transforms from the source's seed and e, so a run is
// reproducible. Samples are float32, NHWC per sample, labels float32 (a 0/1 target,
// a class index for sparse categorical losses, or a one-hot row).
#pragma once

#include <cstddef>
#include <cstdint>

#include "typenet/data/shard.hpp"

namespace typenet {

class BatchSource {
public:
    virtual ~BatchSource() = default;

    // Samples in one epoch.
    [[nodiscard]] virtual std::size_t size() const = 0;
    // Floats per sample and per label.
    [[nodiscard]] virtual std::size_t sample_size() const = 0;
    [[nodiscard]] virtual std::size_t label_size() const = 0;

    // Rewind to the start of epoch `epoch` (0-based).
    virtual void start_epoch(std::uint64_t epoch) = 0;

    // Copies up to max_batch samples into x (max_batch * sample_size() floats) and their
    // labels into y (max_batch * label_size() floats); returns how many, 0 at epoch end.
    virtual std::size_t next_batch(float* x, float* y, std::size_t max_batch) = 0;

    // Data-parallel training (typenet/data/shard.hpp): from the next start_epoch on, hand
    // out only this rank's slice of every global batch. False when the source cannot, and
    // the trainer then reads the whole batch and keeps its slice.
    virtual bool set_shard(const Shard& /*shard*/) { return false; }
};

}  // namespace typenet
