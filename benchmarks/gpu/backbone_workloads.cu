// benchmarks/gpu/backbone_workloads.cu
// gpu_benchmark's resnet50-forward and mobilenetv2-forward (224x224, batch 32, inference),
// a translation unit of their own: nvcc's front end needs minutes on these two types, so
// they are built only with -DTYPENET_CUDA_BACKBONES=ON.
#include <typenet/zoo/mobilenet.hpp>
#include <typenet/zoo/resnet.hpp>

#include "workloads.hpp"

namespace gpu_benchmark {

double resnet50_forward(const Options& options) { return forward_steps<tn::zoo::ResNet50Base<224, 224>>(options); }
double mobilenetv2_forward(const Options& options) {
    return forward_steps<tn::zoo::MobileNetV2Base<224, 224>>(options);
}

}  // namespace gpu_benchmark
