// typenet/distributed/mpi_data_parallel.hpp
// train/data_parallel.hpp's group over MPI. Gradients are summed in buckets of about
// bucket_floats floats, taken in the order backward finishes them (last layer first): a
// bucket is packed and its MPI_Iallreduce started as soon as its last tensor is final,
// while backward goes on with earlier layers, and every new layer also gives MPI a chance
// to progress the ones in flight (MPI_Testall); finish() waits and unpacks.
// Device memory is staged through host memory here (any MPI); between GPUs prefer
// NcclDataParallel (distributed/nccl_data_parallel.cuh), which sums on the GPUs.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "typenet/distributed/communicator.hpp"
#include "typenet/train/data_parallel.hpp"

#if defined(__CUDACC__)
#include <cuda_runtime.h>
#endif

namespace typenet::distributed {

class MpiDataParallel final : public DataParallel {
public:
    static constexpr std::size_t default_bucket_floats = std::size_t{4} << 20;  // 16 MB of float32

    explicit MpiDataParallel(Communicator& comm, std::size_t bucket_floats = default_bucket_floats)
        : comm_(comm), bucket_floats_(std::max<std::size_t>(bucket_floats, 1)) {}

    [[nodiscard]] std::size_t rank() const override { return comm_.rank(); }
    [[nodiscard]] std::size_t size() const override { return comm_.size(); }

    void sum(std::span<double> values, std::string_view what) override {
        check_mpi(MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_SUM,
                                comm_.handle()),
                  "MPI_Allreduce", what);
    }

    void broadcast(float* data, std::size_t count, bool device_memory, std::string_view what) override {
        if (!device_memory) {
            broadcast_host(data, count, what);
            return;
        }
        staging_.resize(count);
        copy_device(staging_.data(), data, count, true);
        broadcast_host(staging_.data(), count, what);
        copy_device(data, staging_.data(), count, false);
    }

    std::string agree_on_failure(const std::string& failure) override {
        int mine = failure.empty() ? static_cast<int>(size()) : static_cast<int>(rank()), first = 0;
        check_mpi(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm_.handle()), "MPI_Allreduce",
                  "which rank failed");
        if (first >= static_cast<int>(size())) return "a rank failed";
        int length = first == static_cast<int>(rank()) ? static_cast<int>(failure.size()) : 0;
        check_mpi(MPI_Bcast(&length, 1, MPI_INT, first, comm_.handle()), "MPI_Bcast", "the failure");
        std::string text = first == static_cast<int>(rank()) ? failure : std::string(static_cast<std::size_t>(length), ' ');
        check_mpi(MPI_Bcast(text.data(), length, MPI_CHAR, first, comm_.handle()), "MPI_Bcast", "the failure");
        return "rank " + std::to_string(first) + ": " + text;
    }

    void begin_gradients(std::span<const GradientTensor> tensors) override {
        tensors_.assign(tensors.begin(), tensors.end());
        ready_.assign(tensors_.size(), false);
        buckets_.clear();
        std::size_t floats = 0;
        for (std::size_t i = 0; i < tensors_.size(); ++i) {  // consecutive tensors up to bucket_floats
            if (buckets_.empty() || (floats + tensors_[i].count > bucket_floats_ && floats != 0)) {
                buckets_.push_back(Bucket{i, i, 0, false});
                floats = 0;
            }
            buckets_.back().last = i + 1;
            buckets_.back().floats += tensors_[i].count;
            floats += tensors_[i].count;
        }
        if (bucket_memory_.size() < buckets_.size()) bucket_memory_.resize(buckets_.size());
        requests_.assign(buckets_.size(), MPI_REQUEST_NULL);
        allreduce_seconds_ = 0.0;
    }

    void gradient_ready(std::size_t index) override {
        ready_.at(index) = true;
        for (std::size_t b = 0; b < buckets_.size(); ++b) {
            Bucket& bucket = buckets_[b];
            if (bucket.started || index < bucket.first || index >= bucket.last) continue;
            bool all = true;
            for (std::size_t i = bucket.first; i < bucket.last; ++i) all = all && ready_[i];
            if (all) start(b);
        }
        progress();
    }

    void finish_gradients() override {
        const double begin = MPI_Wtime();
        for (std::size_t b = 0; b < buckets_.size(); ++b)
            if (!buckets_[b].started) start(b);  // tensors backward did not report
        check_mpi(MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE),
                  "MPI_Waitall", "the gradient sums");
        for (std::size_t b = 0; b < buckets_.size(); ++b) unpack(b);
        allreduce_seconds_ += MPI_Wtime() - begin;
    }

    // Recursive doubling in rank order: at level `bit` rank r trades its block's sum with
    // rank r ^ bit, and both compute (lower block) + (upper block), so every rank holds the
    // same bits, those of the halving tree's top levels (Shard::chunk gives each rank its
    // node). log2(size) exchanges of the whole gradient; an empty block adds nothing.
    [[nodiscard]] bool has_ordered_sum() const override { return true; }
    void ordered_sum(std::span<const GradientTensor> tensors, bool empty) override {
        const std::size_t ranks = size(), me = rank();
        if ((ranks & (ranks - 1)) != 0)
            throw MpiError("fixed-order gradient sums need a power-of-two number of ranks, not " + std::to_string(ranks));
        const double begin = MPI_Wtime();
        std::size_t floats = 0;
        for (const GradientTensor& t : tensors) floats += t.count;
        mine_.resize(floats + 1);  // the last float: 1 when the block has samples
        theirs_.resize(floats + 1);
        std::size_t at = 0;
        for (const GradientTensor& t : tensors) {
            if (t.device_memory) copy_device(mine_.data() + at, t.data, t.count, true);
            else std::memcpy(mine_.data() + at, t.data, t.count * sizeof(float));
            at += t.count;
        }
        mine_[floats] = empty ? 0.0f : 1.0f;
        for (std::size_t bit = 1; bit < ranks; bit <<= 1) {
            const int partner = static_cast<int>(me ^ bit);
            constexpr std::size_t piece = std::size_t{1} << 30;  // MPI counts are int
            for (std::size_t from = 0; from < mine_.size(); from += piece) {
                const int count = static_cast<int>(std::min(piece, mine_.size() - from));
                check_mpi(MPI_Sendrecv(mine_.data() + from, count, MPI_FLOAT, partner, 7, theirs_.data() + from, count,
                                       MPI_FLOAT, partner, 7, comm_.handle(), MPI_STATUS_IGNORE),
                          "MPI_Sendrecv", "a fixed-order gradient sum");
            }
            const bool mine_empty = mine_[floats] == 0.0f, theirs_empty = theirs_[floats] == 0.0f;
            if (theirs_empty) continue;
            if (mine_empty) {
                mine_.swap(theirs_);
                continue;
            }
            const float* lower = (me & bit) == 0 ? mine_.data() : theirs_.data();
            const float* upper = (me & bit) == 0 ? theirs_.data() : mine_.data();
            float* sum = mine_.data();
            for (std::size_t i = 0; i < floats; ++i) sum[i] = lower[i] + upper[i];
        }
        at = 0;
        for (const GradientTensor& t : tensors) {
            if (t.device_memory) copy_device(t.data, mine_.data() + at, t.count, false);
            else std::memcpy(t.data, mine_.data() + at, t.count * sizeof(float));
            at += t.count;
        }
        allreduce_seconds_ = MPI_Wtime() - begin;
    }

    // Seconds the last step spent waiting for its gradient sums after backward.
    [[nodiscard]] double last_wait_seconds() const { return allreduce_seconds_; }
    [[nodiscard]] std::size_t last_bucket_count() const { return buckets_.size(); }

private:
    struct Bucket {
        std::size_t first, last, floats;
        bool started;
    };

    void broadcast_host(float* data, std::size_t count, std::string_view what) {
        constexpr std::size_t chunk = std::size_t{1} << 30;  // MPI counts are int
        for (std::size_t at = 0; at < count; at += chunk)
            check_mpi(MPI_Bcast(data + at, static_cast<int>(std::min(chunk, count - at)), MPI_FLOAT, 0, comm_.handle()),
                      "MPI_Bcast", what);
    }

    void start(std::size_t b) {
        Bucket& bucket = buckets_[b];
        std::vector<float>& memory = bucket_memory_[b];
        memory.resize(bucket.floats);
        std::size_t at = 0;
        for (std::size_t i = bucket.first; i < bucket.last; ++i) {
            const GradientTensor& t = tensors_[i];
            if (t.device_memory) copy_device(memory.data() + at, t.data, t.count, true);
            else std::memcpy(memory.data() + at, t.data, t.count * sizeof(float));
            at += t.count;
        }
        bucket.started = true;
        check_mpi(MPI_Iallreduce(MPI_IN_PLACE, memory.data(), static_cast<int>(bucket.floats), MPI_FLOAT, MPI_SUM,
                                 comm_.handle(), &requests_[b]),
                  "MPI_Iallreduce", "a gradient bucket");
    }

    void unpack(std::size_t b) {
        const Bucket& bucket = buckets_[b];
        const std::vector<float>& memory = bucket_memory_[b];
        std::size_t at = 0;
        for (std::size_t i = bucket.first; i < bucket.last; ++i) {
            const GradientTensor& t = tensors_[i];
            if (t.device_memory) copy_device(t.data, memory.data() + at, t.count, false);
            else std::memcpy(t.data, memory.data() + at, t.count * sizeof(float));
            at += t.count;
        }
    }

    void progress() {
        int done = 0;
        check_mpi(MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &done, MPI_STATUSES_IGNORE),
                  "MPI_Testall", "the gradient sums");
    }

    // Host <-> device copies for device-memory tensors (host-staged path).
    static void copy_device([[maybe_unused]] float* dst, [[maybe_unused]] const float* src,
                            [[maybe_unused]] std::size_t count, [[maybe_unused]] bool to_host) {
#if defined(__CUDACC__)
        cudaDeviceSynchronize();  // the backend's kernels run on their own stream
        const cudaError_t status = cudaMemcpy(dst, src, count * sizeof(float),
                                              to_host ? cudaMemcpyDeviceToHost : cudaMemcpyHostToDevice);
        if (status != cudaSuccess)
            throw MpiError(std::string("staging a gradient through host memory failed: ") + cudaGetErrorString(status));
#else
        throw MpiError("MpiDataParallel: device memory in a program not built by nvcc");
#endif
    }

    Communicator& comm_;
    std::size_t bucket_floats_;
    std::vector<GradientTensor> tensors_;
    std::vector<bool> ready_;
    std::vector<Bucket> buckets_;
    std::vector<std::vector<float>> bucket_memory_;
    std::vector<MPI_Request> requests_;
    std::vector<float> staging_;
    std::vector<float> mine_, theirs_;  // ordered_sum's two blocks
    double allreduce_seconds_ = 0.0;
};

}  // namespace typenet::distributed
