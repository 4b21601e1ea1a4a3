// benchmarks/gpu/gpu_benchmark.cu
// The workloads of the CPU-speed benchmark (benchmarks/compare), on the GPU:
//
//   vgg16-forward     VGG-16 base (tn::zoo::VGG16Base<150, 150>), batch 32, inference
//   basic-cnn-train   model A (chapter5::BasicCNN<150, 150, 3>), batch 30, RMSprop, a full training step
//   finetune-train    model F (chapter5::VGGTransfer<150, 150>, trainable from block4_conv1), batch 30, RMSprop
//   resnet50-forward    ResNet-50 base (tn::zoo::ResNet50Base<224, 224>), batch 32, inference
//   mobilenetv2-forward MobileNetV2 base (tn::zoo::MobileNetV2Base<224, 224>), batch 32, inference
//                       (these two in backbone_workloads.cu, with -DTYPENET_CUDA_BACKBONES=ON)
//
// Training steps go through the trainer (train_on_batch: the batch uploaded from host
// memory, the loss read back), as fit runs them. Inference runs on a batch already on
// the device, as the PyTorch peer (pytorch_peer.py) does. Each workload is timed in
// plain FP32 and with TF32 tensor cores. Prints one line per workload and precision:
//
//   typenet vgg16-forward fp32 1234.5 img/s (25.93 ms per batch of 32) on NVIDIA H100 80GB HBM3
//
// Usage: gpu_benchmark [--iterations N] [--warmup N] [--workload NAME] [--precision fp32|tf32]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <typenet/cuda.cuh>

#include "chapter5/models.hpp"  // examples/: the book's models
#include "workloads.hpp"

namespace tn = typenet;
using namespace gpu_benchmark;

namespace {

std::vector<float> binary_labels(std::size_t n, std::uint64_t seed) {
    tn::Random rng(seed);
    std::vector<float> y(n);
    for (float& v : y) v = rng.uniform() < 0.5f ? 0.0f : 1.0f;
    return y;
}

void report(std::string_view workload, std::string_view precision, std::size_t batch, double seconds) {
    std::printf("typenet %.*s %.*s %.1f img/s (%.2f ms per batch of %zu) on %s\n", static_cast<int>(workload.size()),
                workload.data(), static_cast<int>(precision.size()), precision.data(), batch / seconds,
                seconds * 1e3, batch, tn::cuda_context().device_name().c_str());
    std::fflush(stdout);
}

double vgg16_forward(const Options& options) { return forward_steps<tn::zoo::VGG16Base<150, 150>>(options); }

template <class Model>
double train_steps(const Options& options, Model& model, float learning_rate) {
    constexpr std::size_t batch = 30;
    auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::RMSprop{.learning_rate = learning_rate});
    const auto x = random_vector(batch * Model::input_shape::size, 2, 0.0f, 1.0f);
    const auto y = binary_labels(batch, 3);
    return time_steps(options, [&] { trainer.train_on_batch(x.data(), y.data(), batch); });
}

double basic_cnn_train(const Options& options) {
    auto model = std::make_unique<tn::on<tn::cuda, chapter5::BasicCNN<150, 150, 3>>>();
    return train_steps(options, *model, 1e-4f);
}

double finetune_train(const Options& options) {
    auto model = std::make_unique<tn::on<tn::cuda, chapter5::VGGTransfer<150, 150>>>();
    model->set_trainable_from("block4_conv1");
    return train_steps(options, *model, 1e-5f);
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--iterations" && has_value) options.iterations = std::atoi(argv[++i]);
        else if (arg == "--warmup" && has_value) options.warmup = std::atoi(argv[++i]);
        else if (arg == "--workload" && has_value) options.workload = argv[++i];
        else if (arg == "--precision" && has_value) options.precision = argv[++i];
        else {
            std::fprintf(stderr,
                         "usage: gpu_benchmark [--iterations N] [--warmup N] [--workload vgg16-forward|basic-cnn-train|"
                         "finetune-train|resnet50-forward|mobilenetv2-forward] [--precision fp32|tf32]\n");
            return 2;
        }
    }
    if (options.iterations < 1) options.iterations = 1;
    if (tn::cuda_device_count() == 0) {
        std::fprintf(stderr, "gpu_benchmark: no CUDA device\n");
        return 1;
    }
    struct Workload {
        const char* name;
        std::size_t batch;
        double (*run)(const Options&);
    };
    const Workload workloads[] = {{"vgg16-forward", 32, vgg16_forward},
                                  {"basic-cnn-train", 30, basic_cnn_train},
                                  {"finetune-train", 30, finetune_train},
#if defined(TYPENET_GPU_BENCHMARK_BACKBONES)
                                  {"resnet50-forward", 32, resnet50_forward},
                                  {"mobilenetv2-forward", 32, mobilenetv2_forward},
#endif
    };
    int ran = 0;
    for (const Workload& w : workloads) {
        if (!options.workload.empty() && options.workload != w.name) continue;
        for (const char* precision : {"fp32", "tf32"}) {
            if (!options.precision.empty() && options.precision != precision) continue;
            tn::cuda_context().set_tf32(std::string_view(precision) == "tf32");
            report(w.name, precision, w.batch, w.run(options));
            ++ran;
        }
    }
    if (ran == 0) {
        std::fprintf(stderr, "gpu_benchmark: no workload named '%s'\n", options.workload.c_str());
        return 2;
    }
    return 0;
}
