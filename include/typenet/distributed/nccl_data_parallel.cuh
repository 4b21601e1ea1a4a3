// typenet/distributed/nccl_data_parallel.cuh
// train/data_parallel.hpp's group between GPUs: gradients are summed on the devices by
// NCCL (ncclAllReduce, ring or tree over NVLink / InfiniBand / TCP), MPI only starts the
// group (the NCCL id goes out by MPI_Bcast) and sums the few host numbers of a step.
//
//   typenet::distributed::Communicator comm;           // before any typenet CUDA call:
//   typenet::distributed::NcclDataParallel group(comm); // it picks this rank's GPU
//   typenet::set_data_parallel(&group);
//   tn::compile(gpu_model, ...).fit(...);               // data-parallel, one GPU per rank
//
// One GPU per rank: rank r of a host uses device (local rank) mod (devices). NCCL does
// not put two ranks of a communicator on one device; ranks sharing a GPU use
// MpiDataParallel instead (host-staged). Gradient buckets are packed on the compute
// stream and summed on a second stream, so a bucket's sum overlaps the backward of the
// earlier layers; finish() makes the compute stream wait for the sums.
// Built only with nvcc and NCCL (TYPENET_WITH_NCCL, set by typenet::mpi when found).
#pragma once

#if defined(TYPENET_WITH_NCCL)

#include <cuda_runtime.h>
#include <mpi.h>
#include <nccl.h>

#include <algorithm>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "typenet/backend/cuda/context.cuh"
#include "typenet/distributed/communicator.hpp"
#include "typenet/distributed/mpi_data_parallel.hpp"
#include "typenet/train/data_parallel.hpp"

namespace typenet::distributed {

inline void check_nccl(ncclResult_t result, std::string_view operation, std::string_view what = {}) {
    if (result == ncclSuccess) return;
    throw MpiError(std::string(operation) + (what.empty() ? "" : " (" + std::string(what) + ")") +
                   " failed: " + ncclGetErrorString(result));
}

inline void check_cuda_call(cudaError_t status, std::string_view operation) {
    if (status != cudaSuccess) throw MpiError(std::string(operation) + " failed: " + cudaGetErrorString(status));
}

class NcclDataParallel final : public DataParallel {
public:
    static constexpr std::size_t default_bucket_floats = std::size_t{4} << 20;  // 16 MB

    explicit NcclDataParallel(Communicator& comm, std::size_t bucket_floats = default_bucket_floats)
        : comm_(comm), host_(comm), bucket_floats_(std::max<std::size_t>(bucket_floats, 1)) {
        int devices = 0;
        check_cuda_call(cudaGetDeviceCount(&devices), "cudaGetDeviceCount");
        if (devices == 0) throw MpiError("NcclDataParallel: no CUDA device on this host");
        check_cuda_call(cudaSetDevice(static_cast<int>(comm.local_rank() % static_cast<std::size_t>(devices))),
                        "cudaSetDevice");
        ncclUniqueId id;
        if (comm.rank() == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
        check_mpi(MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, comm.handle()), "MPI_Bcast", "the NCCL id");
        check_nccl(ncclCommInitRank(&nccl_, static_cast<int>(comm.size()), id, static_cast<int>(comm.rank())),
                   "ncclCommInitRank");
        check_cuda_call(cudaStreamCreateWithFlags(&comm_stream_, cudaStreamNonBlocking), "cudaStreamCreate");
        check_cuda_call(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming), "cudaEventCreate");
    }
    ~NcclDataParallel() override {
        for (auto& bucket : buckets_)
            if (bucket.packed) cudaEventDestroy(bucket.packed);
        if (memory_) cudaFree(memory_);
        cudaEventDestroy(done_);
        cudaStreamDestroy(comm_stream_);
        ncclCommDestroy(nccl_);
    }
    NcclDataParallel(const NcclDataParallel&) = delete;
    NcclDataParallel& operator=(const NcclDataParallel&) = delete;

    [[nodiscard]] std::size_t rank() const override { return comm_.rank(); }
    [[nodiscard]] std::size_t size() const override { return comm_.size(); }
    void sum(std::span<double> values, std::string_view what) override { host_.sum(values, what); }
    std::string agree_on_failure(const std::string& failure) override { return host_.agree_on_failure(failure); }

    void broadcast(float* data, std::size_t count, bool device_memory, std::string_view what) override {
        if (!device_memory) {
            host_.broadcast(data, count, false, what);
            return;
        }
        cudaStream_t stream = cuda_context().stream();
        check_nccl(ncclBroadcast(data, data, count, ncclFloat, 0, nccl_, stream), "ncclBroadcast", what);
        check_cuda_call(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    }

    void begin_gradients(std::span<const GradientTensor> tensors) override {
        tensors_.assign(tensors.begin(), tensors.end());
        ready_.assign(tensors_.size(), false);
        for (auto& bucket : buckets_)
            if (bucket.packed) cudaEventDestroy(bucket.packed);
        buckets_.clear();
        std::size_t floats = 0, total = 0;
        for (std::size_t i = 0; i < tensors_.size(); ++i) {
            if (!tensors_[i].device_memory) throw MpiError("NcclDataParallel: a gradient in host memory");
            if (buckets_.empty() || (floats + tensors_[i].count > bucket_floats_ && floats != 0)) {
                buckets_.push_back(Bucket{i, i, total, 0, false, nullptr});
                floats = 0;
            }
            buckets_.back().last = i + 1;
            buckets_.back().floats += tensors_[i].count;
            floats += tensors_[i].count;
            total += tensors_[i].count;
        }
        if (total > capacity_) {
            if (memory_) cudaFree(memory_);
            check_cuda_call(cudaMalloc(&memory_, total * sizeof(float)), "cudaMalloc (gradient buckets)");
            capacity_ = total;
        }
        for (auto& bucket : buckets_)
            check_cuda_call(cudaEventCreateWithFlags(&bucket.packed, cudaEventDisableTiming), "cudaEventCreate");
    }

    void gradient_ready(std::size_t index) override {
        ready_.at(index) = true;
        for (Bucket& bucket : buckets_) {
            if (bucket.started || index < bucket.first || index >= bucket.last) continue;
            bool all = true;
            for (std::size_t i = bucket.first; i < bucket.last; ++i) all = all && ready_[i];
            if (all) start(bucket);
        }
    }

    void finish_gradients() override {
        for (Bucket& bucket : buckets_)
            if (!bucket.started) start(bucket);
        // Unpack on the communication stream, then the compute stream waits for it.
        for (const Bucket& bucket : buckets_) {
            std::size_t at = bucket.offset;
            for (std::size_t i = bucket.first; i < bucket.last; ++i) {
                check_cuda_call(cudaMemcpyAsync(tensors_[i].data, memory_ + at, tensors_[i].count * sizeof(float),
                                                cudaMemcpyDeviceToDevice, comm_stream_),
                                "cudaMemcpyAsync (unpack)");
                at += tensors_[i].count;
            }
        }
        check_cuda_call(cudaEventRecord(done_, comm_stream_), "cudaEventRecord");
        check_cuda_call(cudaStreamWaitEvent(cuda_context().stream(), done_, 0), "cudaStreamWaitEvent");
    }

private:
    struct Bucket {
        std::size_t first, last, offset, floats;
        bool started;
        cudaEvent_t packed;
    };

    // Packs on the compute stream (after the backward kernels that made the gradients),
    // sums on the communication stream once the packing is done.
    void start(Bucket& bucket) {
        cudaStream_t compute = cuda_context().stream();
        std::size_t at = bucket.offset;
        for (std::size_t i = bucket.first; i < bucket.last; ++i) {
            check_cuda_call(cudaMemcpyAsync(memory_ + at, tensors_[i].data, tensors_[i].count * sizeof(float),
                                            cudaMemcpyDeviceToDevice, compute),
                            "cudaMemcpyAsync (pack)");
            at += tensors_[i].count;
        }
        check_cuda_call(cudaEventRecord(bucket.packed, compute), "cudaEventRecord");
        check_cuda_call(cudaStreamWaitEvent(comm_stream_, bucket.packed, 0), "cudaStreamWaitEvent");
        check_nccl(ncclAllReduce(memory_ + bucket.offset, memory_ + bucket.offset, bucket.floats, ncclFloat, ncclSum,
                                 nccl_, comm_stream_),
                   "ncclAllReduce", "a gradient bucket");
        bucket.started = true;
    }

    Communicator& comm_;
    MpiDataParallel host_;
    std::size_t bucket_floats_;
    ncclComm_t nccl_ = nullptr;
    cudaStream_t comm_stream_ = nullptr;
    cudaEvent_t done_ = nullptr;
    float* memory_ = nullptr;
    std::size_t capacity_ = 0;
    std::vector<GradientTensor> tensors_;
    std::vector<bool> ready_;
    std::vector<Bucket> buckets_;
};

}  // namespace typenet::distributed

#endif  // TYPENET_WITH_NCCL
