// typenet/backend/cuda/context.cuh
// The one place that owns CUDA runtime state: the stream every typenet kernel, copy
// and cuBLAS call runs on, the cuBLAS handle, pinned host staging for uploads and a
// small scratch area for reductions. Created on first use, once per process, on the
// device that is current then.
//
// One stream orders everything, so no typenet call needs a host sync except those
// that hand data back to the host (Buffer::download). Uploads are staged through two
// pinned buffers and return as soon as the copy is queued: while the GPU still runs
// the previous step's backward pass and updates, the host already fetches and stages
// the next batch.
//
//   tn::cuda_context().set_tf32(true);   // opt in to TF32 tensor cores for GEMMs
//   tn::cuda_context().synchronize();    // wait for queued work (timing)
//   tn::cuda_device_count();             // 0 when there is no usable GPU (never throws)
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "typenet/backend/cuda/check.cuh"
#include "typenet/core/buffer.hpp"

namespace typenet {

// Number of CUDA devices the runtime sees; 0 when there is none or no driver.
inline int cuda_device_count() {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        (void)cudaGetLastError();  // clear the error so later calls start clean
        return 0;
    }
    return count;
}

class CudaContext {
public:
    // Pinned staging: two slots, so staging one chunk overlaps the copy of the other.
    static constexpr std::size_t staging_bytes = std::size_t{16} << 20;

    CudaContext(const CudaContext&) = delete;
    CudaContext& operator=(const CudaContext&) = delete;

    // The process-wide context, created on first use. It is never destroyed: buffers
    // that outlive main() (statics) still find a valid stream to free on.
    static CudaContext& instance() {
        static CudaContext* context = new CudaContext();
        return *context;
    }

    [[nodiscard]] cudaStream_t stream() const { return stream_; }
    [[nodiscard]] cublasHandle_t blas() const { return blas_; }
    [[nodiscard]] int device() const { return device_; }
    [[nodiscard]] const cudaDeviceProp& properties() const { return properties_; }
    [[nodiscard]] std::string device_name() const { return properties_.name; }
    [[nodiscard]] int multiprocessors() const { return properties_.multiProcessorCount; }

    // Waits for everything queued so far; a kernel fault is reported here.
    void synchronize() const { cuda_kernels::check_cuda(cudaStreamSynchronize(stream_), "synchronize"); }

    // TF32 tensor cores in cuBLAS GEMMs: several times faster on Ampere and Hopper, with
    // a 10-bit mantissa in the products. Off by default (plain FP32, the results the
    // CPU gives to float rounding); TYPENET_CUDA_TF32=1 in the environment turns it on.
    void set_tf32(bool on) {
        cuda_kernels::check_cublas(cublasSetMathMode(blas_, on ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
                                   "cublasSetMathMode");
        tf32_ = on;
    }
    [[nodiscard]] bool tf32() const { return tf32_; }

    // Most floats one convolution layer's im2col workspace holds (default 64 Mi floats,
    // 256 MiB): a batch is cut into chunks of whole images that fit. At least one image
    // always fits. Lower it when GPU memory is tight; GEMMs stay large either way.
    [[nodiscard]] std::size_t im2col_budget() const { return im2col_budget_; }
    void set_im2col_budget(std::size_t floats) { im2col_budget_ = std::max<std::size_t>(floats, 1); }

    // Host to device. Returns once the copy is queued; `host` may be reused at once.
    void upload(void* device, const void* host, std::size_t bytes) {
        if (bytes == 0) return;
        ensure_staging();
        auto* dst = static_cast<char*>(device);
        const auto* src = static_cast<const char*>(host);
        while (bytes != 0) {
            Slot& slot = slots_[next_slot_];
            next_slot_ = 1 - next_slot_;
            // The slot is free once its last copy has left it (at once in a training
            // step: the loss readback has synchronised since).
            cuda_kernels::check_cuda(cudaEventSynchronize(slot.done), "upload (waiting for a staging buffer)");
            const std::size_t n = std::min(bytes, staging_bytes);
            std::memcpy(slot.host, src, n);
            cuda_kernels::check_cuda(cudaMemcpyAsync(dst, slot.host, n, cudaMemcpyHostToDevice, stream_),
                                     "upload (cudaMemcpyAsync host to device)");
            cuda_kernels::check_cuda(cudaEventRecord(slot.done, stream_), "upload (cudaEventRecord)");
            dst += n;
            src += n;
            bytes -= n;
        }
    }

    // Device to host, after everything queued before it; returns when the data is there.
    void download(void* host, const void* device, std::size_t bytes) const {
        if (bytes == 0) return;
        cuda_kernels::check_cuda(cudaMemcpyAsync(host, device, bytes, cudaMemcpyDeviceToHost, stream_),
                                 "download (cudaMemcpyAsync device to host)");
        cuda_kernels::check_cuda(cudaStreamSynchronize(stream_),
                                 "download (a kernel queued before it may have failed)");
    }

    // Device scratch of at least `count` floats for reductions (grow-only, counted as a
    // Buffer growth). Valid until the next call; stream order keeps users apart.
    float* scratch(std::size_t count) {
        if (count > scratch_capacity_) {
            if (scratch_ != nullptr) (void)cudaFreeAsync(scratch_, stream_);
            scratch_ = nullptr;
            cuda_kernels::check_cuda(cudaMallocAsync(reinterpret_cast<void**>(&scratch_), count * sizeof(float), stream_),
                                     "scratch allocation of " + std::to_string(count * sizeof(float)) + " bytes");
            scratch_capacity_ = count;
            detail::growth_counter().fetch_add(1);
        }
        return scratch_;
    }

private:
    struct Slot {
        void* host = nullptr;
        cudaEvent_t done = nullptr;
    };

    CudaContext() {
        int count = 0;
        cuda_kernels::check_cuda(cudaGetDeviceCount(&count), "looking for a CUDA device (cudaGetDeviceCount)");
        if (count == 0) throw cuda_kernels::CudaError("typenet cuda: no CUDA device found (cudaGetDeviceCount is 0)");
        cuda_kernels::check_cuda(cudaGetDevice(&device_), "cudaGetDevice");
        cuda_kernels::check_cuda(cudaGetDeviceProperties(&properties_, device_), "cudaGetDeviceProperties");
        cuda_kernels::check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
        cuda_kernels::check_cublas(cublasCreate(&blas_), "cublasCreate");
        cuda_kernels::check_cublas(cublasSetStream(blas_, stream_), "cublasSetStream");
        cuda_kernels::check_cublas(cublasSetPointerMode(blas_, CUBLAS_POINTER_MODE_HOST), "cublasSetPointerMode");
        const char* tf32 = std::getenv("TYPENET_CUDA_TF32");
        set_tf32(tf32 != nullptr && std::string_view(tf32) == "1");
    }

    void ensure_staging() {
        if (slots_[0].host != nullptr) return;
        for (Slot& slot : slots_) {
            cuda_kernels::check_cuda(cudaHostAlloc(&slot.host, staging_bytes, cudaHostAllocDefault),
                                     "pinned staging allocation (cudaHostAlloc)");
            cuda_kernels::check_cuda(cudaEventCreateWithFlags(&slot.done, cudaEventDisableTiming), "cudaEventCreate");
        }
    }

    int device_ = 0;
    cudaDeviceProp properties_{};
    cudaStream_t stream_ = nullptr;
    cublasHandle_t blas_ = nullptr;
    bool tf32_ = false;
    std::size_t im2col_budget_ = std::size_t{64} << 20;
    std::array<Slot, 2> slots_{};
    int next_slot_ = 0;
    float* scratch_ = nullptr;
    std::size_t scratch_capacity_ = 0;
};

// The process-wide context (created on first use).
inline CudaContext& cuda_context() { return CudaContext::instance(); }

}  // namespace typenet
