// benchmarks/cpu_workloads.cpp
// The chapter's three CPU workloads, through the library's own API, timed as medians
// of repeated iterations after warm-up:
//
//   vgg16-forward     zoo::VGG16Base<150, 150> inference, batch 32 (model D's feature pass)
//   basic-cnn-train   chapter5::BasicCNN<150, 150, 3> (model A) train_on_batch, batch 30,
//                     binary cross-entropy, RMSprop(1e-3)
//   finetune-train    chapter5::VGGTransfer<150, 150> (model F) with set_trainable_from
//                     ("block4_conv1"), train_on_batch, batch 30, RMSprop(1e-5)
//   resnet50-forward     zoo::ResNet50Base<224, 224> inference, batch 32
//   mobilenetv2-forward  zoo::MobileNetV2Base<224, 224> inference, batch 32
//   resnet50-finetune-train  ResNet50Base + GlobalAveragePooling2D + Dense(1, sigmoid),
//                     conv5_* and the head trainable, every BatchNormalization frozen
//                     (inference mode), train_on_batch, batch 32, RMSprop(1e-5)
//
//   cpu_workloads [--threads 2] [--iterations N] [--warmup N]
//                 [--conv-algorithm automatic|im2col|winograd|winograd_fast|direct]
//                 [--isa avx512|avx2|baseline] [--no-fold] [--profile] [--precision fp32|bf16]
//                 [workload ...]
//
// --conv-algorithm (tn::set_conv_algorithm; --method auto|im2col is its old spelling)
// and --isa measure what the Winograd/direct kernels and AVX-512 buy (--no-fold: what
// folding BatchNormalization into the convolutions buys; --profile: after the backbone
// workloads' timed steps, one more forward pass timed layer by layer, summed per Keras type): every
// convolution by im2col + GEMM, or the kernels compiled for an older instruction set.
// --precision bf16 (tn::set_inference_precision) runs the inference workloads' Conv2D and
// Dense layers in bf16 products (an error where the CPU lacks AVX512_BF16); training steps
// stay FP32 whatever it says.
// One line per workload: `<workload>: typenet <x> img/s (median of N, ...)`. Inputs are
// random (uniform [0, 1) pixels, 0/1 labels); the speed does not depend on them. For
// vgg16-forward the peak resident memory is measured (run it in its own process for a
// clean number: benchmarks/compare does) and set against activations + weights.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "timing.hpp"
#include "typenet/backend/cpu/conv2d.hpp"
#include "typenet/backend/cpu/parallel.hpp"
#include "typenet/backend/cpu/scratch.hpp"
#include "typenet/backend/cpu/simd.hpp"
#include "typenet/train/trainer.hpp"
#include "typenet/typenet.hpp"
#include "chapter5/models.hpp"  // examples/: the book's models
#include "typenet/zoo/mobilenet.hpp"
#include "typenet/zoo/resnet.hpp"
#include "typenet/zoo/vgg.hpp"

namespace tn = typenet;
using bench::clock_type;
using bench::median_seconds;

namespace {

struct Settings {
    int threads = 2;
    int iterations = 0;  // 0: the workload's own default
    int warmup = 2;
    bool profile = false;  // after the timed steps, one more with per-layer times
};

// --profile: forward time per Keras layer type and per layer (tn::forward_profiler).
struct Profile {
    std::map<std::string, double> by_type;
    std::vector<std::pair<double, std::string>> by_layer;
    static Profile& instance() {
        static Profile p;
        return p;
    }
    static void record(std::string_view layer, std::string_view type, bool folded, double seconds) {
        Profile& p = instance();
        const std::string kind = std::string(type) + (folded ? " + BatchNormalization (folded)" : "");
        p.by_type[kind] += seconds;
        p.by_layer.emplace_back(seconds, std::string(layer) + " (" + kind + ")");
    }
    void print(const char* workload, double step_seconds) {
        double leaves = 0.0;
        std::vector<std::pair<double, std::string>> types;
        for (const auto& [type, seconds] : by_type) {
            leaves += seconds;
            types.emplace_back(seconds, type);
        }
        std::sort(types.rbegin(), types.rend());
        std::sort(by_layer.rbegin(), by_layer.rend());
        std::printf("%s profile (one forward pass, %.3f s in layers; the median step %.3f s):\n", workload, leaves,
                    step_seconds);
        for (const auto& [seconds, type] : types)
            std::printf("  %-48s %8.1f ms %5.1f %%\n", type.c_str(), seconds * 1e3, 100.0 * seconds / leaves);
        std::printf("  slowest layers:\n");
        for (std::size_t i = 0; i < std::min<std::size_t>(12, by_layer.size()); ++i)
            std::printf("  %-60s %8.1f ms\n", by_layer[i].second.c_str(), by_layer[i].first * 1e3);
        by_type.clear();
        by_layer.clear();
    }
};

std::vector<float> random_pixels(std::size_t count, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> v(count);
    for (auto& x : v) x = dist(rng);
    return v;
}

std::vector<float> random_labels(std::size_t count, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<float> v(count);
    for (auto& y : v) y = static_cast<float>(rng() % 2);
    return v;
}

double resident_mb() {
    std::ifstream statm("/proc/self/statm");
    long pages = 0, resident = 0;
    statm >> pages >> resident;
    return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1e6;
}

double peak_resident_mb() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1e3;  // kB on Linux
}

void report(const char* workload, std::size_t batch, double seconds, int iterations) {
    std::printf("%s: typenet %.2f img/s (median of %d steps of %zu images, %.3f s per step, %d threads, %s inference)\n",
                workload, static_cast<double>(batch) / seconds, iterations, batch, seconds, tn::cpu_threads(),
                tn::precision_name(tn::inference_precision()));
    std::fflush(stdout);
}

void vgg16_forward(const Settings& s) {
    using Net = tn::zoo::VGG16Base<150, 150>;
    constexpr std::size_t batch = 32;
    const double before_mb = resident_mb();
    auto model = std::make_unique<Net>();
    tn::Buffer<tn::cpu> x, y;
    const auto pixels = random_pixels(batch * Net::input_shape::size, 1);
    x.upload(pixels.data(), pixels.size());
    y.ensure(batch * Net::output_shape::size);
    const int iterations = s.iterations ? s.iterations : 5;
    const double seconds =
        median_seconds(s.warmup, iterations, [&] { model->forward(x.data(), y.data(), batch, tn::Mode::infer); });
    report("vgg16-forward", batch, seconds, iterations);

    // Activations: every layer's output for the batch (the chain keeps all of them);
    // weights: the parameters and their gradient buffers (a Parameter holds both).
    const std::size_t per_image = std::accumulate(Net::layer_output_sizes.begin(), Net::layer_output_sizes.end(),
                                                  std::size_t{0});
    const double activations_mb = static_cast<double>(batch * per_image * 4) / 1e6;
    const double weights_mb = static_cast<double>(Net::param_count * 4) / 1e6;
    const double input_mb = static_cast<double>(batch * Net::input_shape::size * 4) / 1e6;
    const double peak_mb = peak_resident_mb() - before_mb;
    const double floor_mb = activations_mb + weights_mb + input_mb;
    std::printf("vgg16-forward memory: peak %.0f MB over the process's start = %.2fx (activations %.0f MB + weights "
                "%.0f MB + input %.0f MB = %.0f MB; shared convolution scratch %.0f MB)\n",
                peak_mb, peak_mb / floor_mb, activations_mb, weights_mb, input_mb, floor_mb,
                static_cast<double>(tn::cpu_kernels::CpuScratch::instance().bytes()) / 1e6);
}

// A backbone's feature pass at 224x224, batch 32, inference (the weights' values do not
// change its speed: Keras's initialisers, as keras.applications' weights=None).
template <class Net>
void backbone_forward(const char* name, const Settings& s) {
    constexpr std::size_t batch = 32;
    auto model = std::make_unique<Net>();
    tn::Buffer<tn::cpu> x, y;
    const auto pixels = random_pixels(batch * Net::input_shape::size, 4);
    x.upload(pixels.data(), pixels.size());
    y.ensure(batch * Net::output_shape::size);
    const int iterations = s.iterations ? s.iterations : 5;
    const double seconds =
        median_seconds(s.warmup, iterations, [&] { model->forward(x.data(), y.data(), batch, tn::Mode::infer); });
    report(name, batch, seconds, iterations);
    if (s.profile) {
        tn::forward_profiler() = &Profile::record;
        model->forward(x.data(), y.data(), batch, tn::Mode::infer);
        tn::forward_profiler() = nullptr;
        Profile::instance().print(name, seconds);
    }
}

template <class Net, std::size_t Batch = 30, class Prepare>
void train_workload(const char* name, const Settings& s, float learning_rate, int default_iterations,
                    Prepare&& prepare) {
    constexpr std::size_t batch = Batch;
    auto model = std::make_unique<Net>();
    prepare(*model);
    auto trainer = tn::compile(*model, tn::BinaryCrossentropy{}, tn::RMSprop{.learning_rate = learning_rate});
    const auto pixels = random_pixels(batch * Net::input_shape::size, 2);
    const auto labels = random_labels(batch, 3);
    const int iterations = s.iterations ? s.iterations : default_iterations;
    const double seconds = median_seconds(s.warmup, iterations,
                                          [&] { trainer.train_on_batch(pixels.data(), labels.data(), batch); });
    report(name, batch, seconds, iterations);
}

void basic_cnn_train(const Settings& s) {
    train_workload<chapter5::BasicCNN<150, 150, 3>>("basic-cnn-train", s, 1e-3f, 10, [](auto&) {});
}

void finetune_train(const Settings& s) {
    train_workload<chapter5::VGGTransfer<150, 150>>("finetune-train", s, 1e-5f, 5,
                                                   [](auto& model) { model.set_trainable_from("block4_conv1"); });
}

// ResNet-50 fine-tuning: the last stage and a one-unit head learn; every
// BatchNormalization is frozen, so it normalises with its moving statistics (Keras's
// rule for trainable=False) and the frozen stages cost no backward work.
using ResNet50Transfer = tn::Model<"resnet50_transfer", tn::Input<224, 224, 3>, tn::zoo::ResNet50Base<224, 224>,
                                   tn::GlobalAveragePooling2D<"avg_pool">, tn::Dense<1, tn::Sigmoid, "predictions">>;

void resnet50_finetune_train(const Settings& s) {
    train_workload<ResNet50Transfer, 32>("resnet50-finetune-train", s, 1e-5f, 3, [](auto& model) {
        model.set_trainable_from("conv5_block1_0_conv");  // the projection, conv5's first layer in Keras's order
        model.for_each_layer([](auto& layer, int) {
            if constexpr (requires { layer.moving_mean(); }) layer.set_trainable(false);
        });
    });
}

}  // namespace

int main(int argc, char** argv) {
    Settings settings;
    std::vector<std::string> workloads;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> int {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "cpu_workloads: %s needs a number\n", arg.c_str());
                std::exit(2);
            }
            return std::atoi(argv[++i]);
        };
        if (arg == "--threads")
            settings.threads = value();
        else if (arg == "--iterations")
            settings.iterations = value();
        else if (arg == "--warmup")
            settings.warmup = value();
        else if (arg == "--profile")  // per-layer forward times of the backbone workloads
            settings.profile = true;
        else if (arg == "--precision" && i + 1 < argc) {
            const std::string precision = argv[++i];
            if (precision != "fp32" && precision != "bf16") {
                std::fprintf(stderr, "cpu_workloads: --precision takes fp32 or bf16, not '%s'\n", precision.c_str());
                return 2;
            }
            try {
                tn::set_inference_precision(precision == "bf16" ? tn::Precision::bf16 : tn::Precision::fp32);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "cpu_workloads: %s\n", e.what());
                return 2;
            }
        } else if (arg == "--no-fold")  // BatchNormalization run as its own layer (what folding buys)
            tn::set_batch_norm_folding(false);
        else if ((arg == "--conv-algorithm" || arg == "--method") && i + 1 < argc) {
            const std::string method = argv[++i];
            try {
                tn::set_conv_algorithm(method == "auto" ? tn::ConvAlgorithm::automatic
                                                        : tn::parse_conv_algorithm(method, arg));
            } catch (const std::exception& e) {
                std::fprintf(stderr, "cpu_workloads: %s\n", e.what());
                return 2;
            }
        } else if (arg == "--isa" && i + 1 < argc) {
            const std::string isa = argv[++i];
            auto& active = tn::cpu_kernels::simd::active_isa();
            if (isa == "baseline") active = tn::cpu_kernels::simd::Isa::baseline;
            if (isa == "avx2" && active == tn::cpu_kernels::simd::Isa::avx512) active = tn::cpu_kernels::simd::Isa::avx2;
        }
        else if (arg == "vgg16-forward" || arg == "basic-cnn-train" || arg == "finetune-train" ||
                 arg == "resnet50-forward" || arg == "mobilenetv2-forward" || arg == "resnet50-finetune-train")
            workloads.push_back(arg);
        else {
            std::fprintf(stderr,
                         "usage: cpu_workloads [--threads N] [--iterations N] [--warmup N] "
                         "[--conv-algorithm automatic|im2col|winograd|winograd_fast|direct] "
                         "[--isa avx512|avx2|baseline] [--precision fp32|bf16] [vgg16-forward] [basic-cnn-train] [finetune-train] "
                         "[resnet50-forward] [mobilenetv2-forward] [resnet50-finetune-train]\n");
            return 2;
        }
    }
    if (workloads.empty()) workloads = {"vgg16-forward", "basic-cnn-train", "finetune-train"};
    tn::set_cpu_threads(settings.threads);
    for (const auto& w : workloads) {
        if (w == "vgg16-forward") vgg16_forward(settings);
        if (w == "basic-cnn-train") basic_cnn_train(settings);
        if (w == "finetune-train") finetune_train(settings);
        if (w == "resnet50-forward") backbone_forward<tn::zoo::ResNet50Base<224, 224>>(w.c_str(), settings);
        if (w == "mobilenetv2-forward") backbone_forward<tn::zoo::MobileNetV2Base<224, 224>>(w.c_str(), settings);
        if (w == "resnet50-finetune-train") resnet50_finetune_train(settings);
    }
    return 0;
}
