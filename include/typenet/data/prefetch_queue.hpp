// typenet/data/prefetch_queue.hpp
// Makes samples ahead of the training step on worker threads, and hands them out in the
// epoch's order. Memory is bounded: a ring of `capacity` sample slots, so a worker waits
// rather than run more than `capacity` samples ahead of the consumer, whatever the size
// of the epoch (25,000 images take no more memory than 30).
//
// A producer fills one sample (and its label) for an item of the epoch's order; it may
// return false to say the item is unreadable, and the queue then leaves it out. Which
// thread makes which sample does not change the result: the producer is called with the
// item and the epoch only, and samples come out in the order's order.
// With zero workers the samples are made on the caller's thread, inside next().
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace typenet {

class PrefetchQueue {
public:
    // Fills `sample` (sample_size floats) and `label` (label_size floats) for `item` in
    // `epoch`; false when the item cannot be read. Called from several threads at once.
    using Producer = std::function<bool(std::size_t item, std::uint64_t epoch, float* sample, float* label)>;

    PrefetchQueue(std::size_t sample_size, std::size_t label_size, std::size_t capacity, std::size_t workers,
                  Producer producer)
        : sample_size_(sample_size), label_size_(label_size), capacity_(std::max<std::size_t>(capacity, 1)),
          workers_(workers), producer_(std::move(producer)) {
        if (!producer_) throw std::invalid_argument("PrefetchQueue: no producer");
        samples_.resize(capacity_ * sample_size_);
        labels_.resize(capacity_ * label_size_);
        state_.assign(capacity_, Slot::empty);
    }
    PrefetchQueue(const PrefetchQueue&) = delete;
    PrefetchQueue& operator=(const PrefetchQueue&) = delete;
    ~PrefetchQueue() { stop(); }

    // Stops the current epoch (joining its workers) and starts making `order` for `epoch`.
    void start(std::vector<std::size_t> order, std::uint64_t epoch) {
        stop();
        order_ = std::move(order);
        epoch_ = epoch;
        claimed_ = consumed_ = ready_ = 0;
        error_ = nullptr;
        stopping_ = false;
        std::fill(state_.begin(), state_.end(), Slot::empty);
        for (std::size_t i = 0; i < workers_; ++i) threads_.emplace_back([this] { work(); });
    }

    // Copies up to `max` samples (and labels) of the epoch, in order, skipping unreadable
    // items; returns how many, 0 at the end of the epoch. Rethrows a producer's exception.
    std::size_t next(float* x, float* y, std::size_t max) {
        std::size_t count = 0;
        while (count < max) {
            std::unique_lock lock(mutex_);
            if (error_) std::rethrow_exception(error_);
            if (consumed_ >= order_.size()) break;
            const std::size_t position = consumed_;
            const std::size_t slot = position % capacity_;
            if (workers_ == 0) {  // make it here
                claimed_ = position + 1;
                lock.unlock();
                const bool ok = produce(position, slot);
                lock.lock();
                state_[slot] = ok ? Slot::ready : Slot::failed;
                if (ok) peak_ready_ = std::max(peak_ready_, ++ready_);
            }
            consumer_wait_.wait(lock, [&] { return state_[slot] != Slot::empty || error_; });
            if (error_) std::rethrow_exception(error_);
            const bool ok = state_[slot] == Slot::ready;
            lock.unlock();
            if (ok) {  // the slot is ours until it is marked empty
                std::memcpy(x + count * sample_size_, samples_.data() + slot * sample_size_,
                            sample_size_ * sizeof(float));
                std::memcpy(y + count * label_size_, labels_.data() + slot * label_size_, label_size_ * sizeof(float));
                ++count;
            }
            lock.lock();
            if (ok) --ready_;
            state_[slot] = Slot::empty;
            ++consumed_;
            lock.unlock();
            worker_wait_.notify_all();
        }
        return count;
    }

    // Items of the current epoch not yet handed out (including unreadable ones).
    std::size_t remaining() const {
        std::lock_guard lock(mutex_);
        return order_.size() - consumed_;
    }
    std::size_t capacity() const { return capacity_; }
    std::size_t workers() const { return workers_; }
    // The most samples ever made and waiting at once: never above capacity().
    std::size_t peak_ready() const {
        std::lock_guard lock(mutex_);
        return peak_ready_;
    }

    // Joins the workers; the epoch in progress is abandoned.
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        worker_wait_.notify_all();
        for (auto& t : threads_) t.join();
        threads_.clear();
    }

private:
    enum class Slot : unsigned char { empty, ready, failed };

    bool produce(std::size_t position, std::size_t slot) {
        return producer_(order_[position], epoch_, samples_.data() + slot * sample_size_,
                         labels_.data() + slot * label_size_);
    }

    void work() {
        for (;;) {
            std::unique_lock lock(mutex_);
            // A slot is free for position p once position p - capacity has been consumed.
            worker_wait_.wait(lock, [&] {
                return stopping_ || claimed_ >= order_.size() || claimed_ < consumed_ + capacity_;
            });
            if (stopping_ || claimed_ >= order_.size()) return;
            const std::size_t position = claimed_++;
            const std::size_t slot = position % capacity_;
            lock.unlock();
            bool ok = false;
            try {
                ok = produce(position, slot);
            } catch (...) {
                lock.lock();
                if (!error_) error_ = std::current_exception();
                stopping_ = true;
                lock.unlock();
                consumer_wait_.notify_all();
                worker_wait_.notify_all();
                return;
            }
            lock.lock();
            state_[slot] = ok ? Slot::ready : Slot::failed;
            if (ok) peak_ready_ = std::max(peak_ready_, ++ready_);
            lock.unlock();
            consumer_wait_.notify_all();
        }
    }

    std::size_t sample_size_, label_size_, capacity_, workers_;
    Producer producer_;
    std::vector<float> samples_, labels_;
    std::vector<Slot> state_;
    std::vector<std::size_t> order_;
    std::uint64_t epoch_ = 0;
    std::size_t claimed_ = 0, consumed_ = 0, ready_ = 0, peak_ready_ = 0;
    bool stopping_ = false;
    std::exception_ptr error_;
    mutable std::mutex mutex_;
    std::condition_variable worker_wait_, consumer_wait_;
    std::vector<std::thread> threads_;
};

}  // namespace typenet
