// tests/cuda/test_cuda.cu
// The CUDA specialisations against the CPU on the same inputs; the cases are in
// test_cuda_kernels.cu and test_cuda_models.cu (two translation units, so that neither
// takes nvcc long). GPU and CPU must agree to a max relative error under 1e-4 (check.hpp
// says how it is measured); dropout masks, pooling argmax and loaded weights exactly.
// Without a GPU the program prints why and exits 77, which ctest reports as skipped.
#include "common.hpp"

int main(int argc, char** argv) {
    const int devices = tn::cuda_device_count();
    if (devices == 0) {
        std::printf("test_cuda: no CUDA device (cudaGetDeviceCount reports none): skipped\n");
        return 77;  // ctest: SKIP_RETURN_CODE
    }
    tn::CudaContext& context = tn::cuda_context();
    std::printf("test_cuda on %s (%d multiprocessors, compute capability %d.%d), TF32 %s\n",
                context.device_name().c_str(), context.multiprocessors(), context.properties().major,
                context.properties().minor, context.tf32() ? "on" : "off");
    return cuda_test::run_all(argc > 1 ? argv[1] : "");
}
