// typenet/backend/cpu/parallel.hpp
// Threads on the CPU: one small pool of typenet's own, and OpenBLAS kept at one thread
// inside it. Why not OpenMP around a multi-threaded OpenBLAS: on a 2-core machine the
// OpenMP workers spin after each loop while OpenBLAS's own threads start, and the two
// fight for the cores (measured: half the convolution throughput). Here every parallel
// piece of work, GEMMs included (blas.hpp splits them), runs on the same threads, which
// spin for a few microseconds after a job and then sleep on a futex, so nothing waits
// on anything else.
//
//   parallel_for(count, body(i), cost)      body for every i, in contiguous ranges
//   parallel_tasks(count, body(task, slot)) body per task; `slot` < cpu_threads() names
//                                           the thread, for per-thread scratch memory
//
// A job posted from inside a job, or while another user thread has the pool, runs on
// the calling thread (same results: tasks never depend on which thread runs them).
// Bodies must not throw.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "typenet/backend/cpu/simd.hpp"

extern "C" void openblas_set_num_threads(int num_threads);

namespace typenet {

namespace detail {

inline void spin_pause() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
}

class CpuThreadPool {
public:
    using Entry = void (*)(void* context, std::size_t task, unsigned slot);

    static CpuThreadPool& instance() {
        static CpuThreadPool pool;
        return pool;
    }

    CpuThreadPool(const CpuThreadPool&) = delete;
    CpuThreadPool& operator=(const CpuThreadPool&) = delete;
    ~CpuThreadPool() { stop_workers(); }

    [[nodiscard]] unsigned threads() const { return threads_; }

    void set_threads(unsigned count) {
        count = std::max(1u, count);
        std::lock_guard lock(mutex_);
        if (count == threads_) return;
        stop_workers();
        threads_ = count;
        start_workers();
    }

    // entry(context, task, slot) for every task in [0, count); returns when all are done.
    void run(std::size_t count, Entry entry, void* context) {
        if (count == 0) return;
        std::unique_lock lock(mutex_, std::defer_lock);
        const bool inline_only = count == 1 || threads_ == 1 || current_slot() >= 0 || !lock.try_lock();
        if (inline_only) {
            const unsigned slot = current_slot() >= 0 ? static_cast<unsigned>(current_slot()) : 0u;
            for (std::size_t t = 0; t < count; ++t) entry(context, t, slot);
            return;
        }
        entry_ = entry;
        context_ = context;
        count_ = count;
        next_.store(0, std::memory_order_relaxed);
        pending_.store(static_cast<unsigned>(workers_.size()), std::memory_order_relaxed);
        generation_.fetch_add(1, std::memory_order_release);
        generation_.notify_all();
        current_slot() = 0;
        work(0);
        current_slot() = -1;
        // Wait for the workers: spin briefly (they are usually finishing their last
        // task), then sleep.
        for (int spin = 0; pending_.load(std::memory_order_acquire) != 0; ++spin) {
            if (spin < spin_limit) {
                spin_pause();
            } else {
                const unsigned left = pending_.load(std::memory_order_acquire);
                if (left != 0) pending_.wait(left, std::memory_order_acquire);
            }
        }
    }

private:
    static constexpr int spin_limit = 4000;  // a few microseconds of pause instructions

    CpuThreadPool() {
        // OpenBLAS stays single-threaded: typenet splits GEMMs over this pool itself.
        openblas_set_num_threads(1);
        threads_ = std::max(1u, std::thread::hardware_concurrency());
        start_workers();
    }

    static int& current_slot() {
        static thread_local int slot = -1;  // which pool thread this is; -1 outside the pool
        return slot;
    }

    void work(unsigned slot) {
        for (;;) {
            const std::size_t task = next_.fetch_add(1, std::memory_order_relaxed);
            if (task >= count_) break;
            entry_(context_, task, slot);
        }
    }

    void worker_loop(unsigned slot) {
        current_slot() = static_cast<int>(slot);
        std::uint64_t seen = 0;
        for (;;) {
            std::uint64_t now = generation_.load(std::memory_order_acquire);
            for (int spin = 0; now == seen; ++spin) {
                if (spin < spin_limit) {
                    spin_pause();
                } else {
                    generation_.wait(seen, std::memory_order_acquire);
                }
                now = generation_.load(std::memory_order_acquire);
            }
            seen = now;
            if (stopping_.load(std::memory_order_acquire)) return;
            work(slot);
            if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
        }
    }

    void start_workers() {
        stopping_.store(false);
        for (unsigned slot = 1; slot < threads_; ++slot) workers_.emplace_back([this, slot] { worker_loop(slot); });
    }

    void stop_workers() {
        if (workers_.empty()) return;
        stopping_.store(true, std::memory_order_release);
        generation_.fetch_add(1, std::memory_order_release);
        generation_.notify_all();
        for (auto& worker : workers_) worker.join();
        workers_.clear();
        generation_.store(0);
    }

    std::mutex mutex_;
    std::vector<std::thread> workers_;
    unsigned threads_ = 1;
    std::atomic<std::uint64_t> generation_{0};
    std::atomic<bool> stopping_{false};
    std::atomic<unsigned> pending_{0};
    std::atomic<std::size_t> next_{0};
    Entry entry_ = nullptr;
    void* context_ = nullptr;
    std::size_t count_ = 0;
};

}  // namespace detail

// Number of CPU threads typenet uses (its loops and its GEMMs alike).
inline int cpu_threads() { return static_cast<int>(detail::CpuThreadPool::instance().threads()); }

// Set the CPU thread count (at least 1). OpenBLAS itself stays at one thread.
inline void set_cpu_threads(int threads) {
    detail::CpuThreadPool::instance().set_threads(static_cast<unsigned>(std::max(threads, 1)));
}

// body(task, slot) for every task in [0, count), spread over the pool's threads;
// slot < cpu_threads() identifies the thread (index per-thread scratch with it).
template <class Body>
void parallel_tasks(std::size_t count, Body&& body) {
    auto entry = [](void* context, std::size_t task, unsigned slot) { (*static_cast<Body*>(context))(task, slot); };
    detail::CpuThreadPool::instance().run(count, entry, const_cast<void*>(static_cast<const void*>(&body)));
}

// Reductions: body(task, part, slot) for every task in [0, count), the tasks split into
// `parts` contiguous runs, each run done in task order by one thread. A kernel that sums
// into one accumulator per part, then adds the parts in order, gets the same bits on
// every run; with parallel_tasks' dynamic hand-out, which tasks meet in one thread's
// sum changes from run to run, and so would the rounding. `slot` still names the thread
// (for scratch that is not carried from task to task).
template <class Body>
void parallel_runs(std::size_t count, std::size_t parts, Body&& body) {
    parallel_tasks(parts, [&](std::size_t part, unsigned slot) {
        const std::size_t end = count * (part + 1) / parts;
        for (std::size_t task = count * part / parts; task < end; ++task) body(task, part, slot);
    });
}

// Run body(i) for i in [0, count), split into one contiguous range per thread when the
// work (count * cost_per_item, in rough flops) is worth waking the other threads. Each
// range is compiled for the CPU's best instruction set (simd.hpp), so an elementwise
// body that the compiler can inline and vectorise gets AVX-512 on a machine that has it.
template <class Body>
void parallel_for(std::size_t count, Body&& body, std::size_t cost_per_item = 1024) {
    auto range = [&](std::size_t begin, std::size_t end) {
        cpu_kernels::simd::run([&]() TYPENET_SIMD {
            for (std::size_t i = begin; i < end; ++i) body(i);
        });
    };
    const std::size_t threads = static_cast<std::size_t>(cpu_threads());
    if (count < 2 || threads < 2 || count * cost_per_item < 65536) {
        range(0, count);
        return;
    }
    const std::size_t parts = std::min(count, threads);
    parallel_tasks(parts, [&](std::size_t part, unsigned) { range(count * part / parts, count * (part + 1) / parts); });
}

}  // namespace typenet
