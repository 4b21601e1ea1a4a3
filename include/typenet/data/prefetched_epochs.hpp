// typenet/data/prefetched_epochs.hpp
// The epochs of a source whose samples a PrefetchQueue makes (ImageArraySource,
// ImageFolderSource): the epoch's order of items, cut to the source's shard, and a queue
// that starts making it as soon as it is known. start_epoch keeps an epoch already being
// made if nothing has been taken from it yet, so the first epoch is not made twice.
// PrefetchingSource is the BatchSource face of it, written once for both sources.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "typenet/data/batch_source.hpp"
#include "typenet/data/prefetch_queue.hpp"
#include "typenet/data/shard.hpp"

namespace typenet {

class PrefetchedEpochs {
public:
    // The items of an epoch, in their order, cut to the shard. It is called while no worker
    // runs, so it may read what the producer changes.
    using OrderMaker = std::function<std::vector<std::size_t>(std::uint64_t epoch, const Shard& shard)>;

    PrefetchedEpochs(std::size_t sample_size, std::size_t label_size, std::size_t capacity, std::size_t workers,
                     PrefetchQueue::Producer producer, OrderMaker make_order)
        : make_order_(std::move(make_order)), queue_(sample_size, label_size, capacity, workers, std::move(producer)) {}

    void start_epoch(std::uint64_t epoch) {
        if (epoch == epoch_ && untouched_) return;  // already being made
        restart(epoch);
    }
    void restart(std::uint64_t epoch) {
        queue_.stop();
        order_ = make_order_(epoch, shard_);
        epoch_ = epoch;
        untouched_ = true;
        queue_.start(order_, epoch);
    }

    std::size_t next_batch(float* x, float* y, std::size_t max_batch) {
        untouched_ = false;
        return queue_.next(x, y, max_batch);
    }
    // The next start_epoch makes the shard's order.
    void set_shard(const Shard& shard) {
        shard_ = shard;
        untouched_ = false;
    }

    const std::vector<std::size_t>& order() const { return order_; }
    std::size_t peak_prefetched() const { return queue_.peak_ready(); }
    // Joins the workers; the next restart starts them again.
    void stop() { queue_.stop(); }

private:
    OrderMaker make_order_;
    std::vector<std::size_t> order_;
    std::uint64_t epoch_ = 0;
    bool untouched_ = false;
    Shard shard_;
    PrefetchQueue queue_;  // last member: its workers are joined before the members they read go
};

// A BatchSource whose samples a PrefetchQueue makes. The derived source starts it at the
// end of its constructor (its producer reads its members, which exist only then) and
// stops it first thing in its destructor (before those members go).
class PrefetchingSource : public BatchSource {
public:
    void start_epoch(std::uint64_t epoch) override { epochs_->start_epoch(epoch); }
    std::size_t next_batch(float* x, float* y, std::size_t max_batch) override {
        return epochs_->next_batch(x, y, max_batch);
    }
    bool set_shard(const Shard& shard) override {
        epochs_->set_shard(shard);
        return true;
    }

    // Items of the current epoch (indices into the source), in the order they come.
    const std::vector<std::size_t>& order() const { return epochs_->order(); }
    // The most samples held ready at once (bounded by the prefetch option).
    std::size_t peak_prefetched() const { return epochs_->peak_prefetched(); }

protected:
    // Makes the queue and starts epoch 0.
    void start_prefetching(std::size_t sample_size, std::size_t label_size, std::size_t capacity,
                           std::size_t workers, PrefetchQueue::Producer producer,
                           PrefetchedEpochs::OrderMaker make_order) {
        epochs_ = std::make_unique<PrefetchedEpochs>(sample_size, label_size, capacity, workers, std::move(producer),
                                                     std::move(make_order));
        epochs_->restart(0);
    }
    void stop_prefetching() {
        if (epochs_) epochs_->stop();
    }

private:
    std::unique_ptr<PrefetchedEpochs> epochs_;
};

}  // namespace typenet
