// benchmarks/data_throughput.cpp
// How fast the streamed image source makes training batches: read + decode + resize to
// 150x150 + augment (the chapter's settings) + rescale, on 2 worker threads, compared with
// what a training step consumes. The pipeline must outpace the training step, or the
// model waits for data.
//
//   data_throughput                    # 500 generated 400x350 JPEGs, 2 workers, 2 epochs
//   data_throughput --dir data/training_data --workers 2 --epochs 1
//   data_throughput --no-training-step # only the data side
//
// Prints images/s for: augmented (the training source), not augmented (validation), and
// augmented on the caller's thread (one core, for reference); the resampling alone
// (typenet's sampler against cv::warpAffine on the same matrices); then the measured CPU
// training step of model C (RegularizedCNN 150x150x3, batch 30, RMSprop) and the
// chapter's own GPU rate for model C (3,000 images per 11 s epoch), and a verdict.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "common/cli.hpp"  // examples/ is on the include path (benchmarks/CMakeLists.txt)
#include "typenet/data/augment.hpp"
#include "typenet/data/image_folder_source.hpp"
#include "typenet/typenet.hpp"
#include "typenet/train/trainer.hpp"
#include "chapter5/models.hpp"  // examples/: the book's models
#include "chapter5/augmentation.hpp"  // examples/: the book's augmentation

namespace tn = typenet;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

// Photo-sized JPEGs (noise, gradients and shapes, so they compress like photos rather
// than flat colour), alternately cat.<n>.jpg and dog.<n>.jpg.
void generate_folder(const fs::path& folder, std::size_t count) {
    fs::create_directories(folder);
    cv::RNG rng(12345);
    for (std::size_t n = 0; n < count; ++n) {
        cv::Mat image(350, 400, CV_8UC3);
        rng.fill(image, cv::RNG::NORMAL, cv::Scalar::all(120), cv::Scalar::all(35));
        cv::GaussianBlur(image, image, cv::Size(5, 5), 1.2);
        for (int k = 0; k < 12; ++k) {
            const cv::Scalar colour(rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 255));
            const cv::Point centre(rng.uniform(0, 400), rng.uniform(0, 350));
            if (k % 2) cv::circle(image, centre, rng.uniform(10, 80), colour, cv::FILLED, cv::LINE_AA);
            else cv::rectangle(image, cv::Rect(centre, cv::Size(rng.uniform(10, 120), rng.uniform(10, 120))), colour, 3);
        }
        const std::string name = std::string(n % 2 ? "dog." : "cat.") + std::to_string(n / 2) + ".jpg";
        cv::imwrite((folder / name).string(), image, {cv::IMWRITE_JPEG_QUALITY, 90});
    }
}

struct Rate {
    double images_per_second = 0;
    std::size_t images = 0;
    double seconds = 0;
    double cpu_seconds = 0;  // all threads of the process: robust when others share the cores
};

// Reads `epochs` whole epochs in batches of `batch` as fast as the source can make them.
Rate measure(tn::BatchSource& source, std::size_t epochs, std::size_t batch) {
    std::vector<float> x(batch * source.sample_size()), y(batch * source.label_size());
    Rate rate;
    const std::clock_t cpu_start = std::clock();
    const auto start = clock_type::now();
    for (std::size_t e = 0; e < epochs; ++e) {
        source.start_epoch(e);
        while (std::size_t n = source.next_batch(x.data(), y.data(), batch)) rate.images += n;
    }
    rate.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    rate.cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    rate.images_per_second = rate.images / rate.seconds;
    return rate;
}

// The resampling alone, in the caller's thread: typenet's sampler (scipy's arithmetic)
// against cv::warpAffine (what typenet used before; 1/32-pixel coordinates) on the same
// 150x150x3 float picture and the same matrices, drawn with the chapter's settings.
void measure_resampling(const tn::ImageDataGenerator& g, std::size_t count) {
    cv::Mat picture(150, 150, CV_8UC3);
    cv::RNG rng(7);
    rng.fill(picture, cv::RNG::UNIFORM, cv::Scalar::all(0), cv::Scalar::all(256));
    cv::GaussianBlur(picture, picture, cv::Size(7, 7), 2.0);
    cv::Mat image;
    picture.convertTo(image, CV_32F);
    std::vector<tn::AffineMatrix> matrices;
    tn::Random random(42);
    for (std::size_t i = 0; i < count; ++i)
        matrices.push_back(tn::transform_matrix(tn::random_transform(g, 150, 150, random), 150, 150, g.convention));
    cv::Mat out(150, 150, CV_32FC3);
    // CPU time of the whole process per image: cv::warpAffine may use OpenCV's own threads,
    // and other programs sharing the cores do not count.
    auto cpu_ms = [&](auto&& resample) {
        resample(matrices[0]);  // warm-up
        const std::clock_t start = std::clock();
        for (const auto& m : matrices) resample(m);
        return 1000.0 * static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC / static_cast<double>(count);
    };
    std::printf("resampling alone, 150x150x3 float, caller's thread (%s convention):\n", tn::to_string(g.convention));
    for (const auto interpolation : {tn::Interpolation::bilinear, tn::Interpolation::nearest}) {
        const double ours = cpu_ms([&](const tn::AffineMatrix& m) {
            tn::apply_transform(image, out, m, g.fill_mode, g.cval, interpolation);
        });
        const double opencv = cpu_ms([&](const tn::AffineMatrix& m) {
            // The old path: Keras's (row, col) matrix as OpenCV's (x, y) inverse map.
            const cv::Mat warp = (cv::Mat_<double>(2, 3) << m[1][1], m[1][0], m[1][2], m[0][1], m[0][0], m[0][2]);
            cv::warpAffine(image, out, warp, image.size(),
                           (interpolation == tn::Interpolation::nearest ? cv::INTER_NEAREST : cv::INTER_LINEAR) |
                               cv::WARP_INVERSE_MAP,
                           cv::BORDER_REPLICATE);
        });
        const char* name = interpolation == tn::Interpolation::bilinear ? "bilinear" : "nearest";
        std::printf("  %-9s typenet sampler %.3f ms CPU (~%.0f/s per core)   cv::warpAffine %.3f ms CPU (~%.0f/s)\n",
                    name, ours, 1000.0 / ours, opencv, 1000.0 / opencv);
    }
}

// Wall-clock rate, and the CPU time per image with what it would give on `cores` free cores.
void print(const char* what, const Rate& r, std::size_t cores) {
    const double cpu_ms = 1000.0 * r.cpu_seconds / r.images;
    std::printf("  %-52s %7.1f images/s  (%zu in %.2f s; %.2f ms CPU each: ~%.0f/s on %zu free core%s)\n", what,
                r.images_per_second, r.images, r.seconds, cpu_ms, 1000.0 * cores / cpu_ms, cores,
                cores == 1 ? "" : "s");
}

}  // namespace

int main(int argc, char** argv) {
    const examples::CommandLine cli(
        argc, argv,
        "usage: data_throughput [--dir DIR] [--images N] [--workers N] [--epochs N] [--batch N] "
        "[--no-training-step] [--keras-convention keras2|keras3]\n",
        {"dir", "images", "workers", "epochs", "batch", "steps", "keras-convention"}, {"no-training-step"});
    const std::size_t workers = static_cast<std::size_t>(cli.integer("workers", 2));
    const std::size_t epochs = static_cast<std::size_t>(cli.integer("epochs", 2));
    const std::size_t batch = static_cast<std::size_t>(cli.integer("batch", 30));
    const std::size_t steps = static_cast<std::size_t>(cli.integer("steps", 3));

    fs::path folder = cli.text("dir");
    fs::path generated;
    try {
        if (folder.empty()) {
            generated = fs::temp_directory_path() / ("typenet-data-throughput-" + std::to_string(::getpid()));
            const std::size_t count = static_cast<std::size_t>(cli.integer("images", 500));
            std::printf("generating %zu JPEGs of 400x350 in %s ...\n", count, generated.string().c_str());
            generate_folder(generated, count);
            folder = generated;
        }
        tn::ImageDataGenerator chapter = chapter5::training_augmentation();
        chapter.convention = tn::keras_convention_named(cli.text("keras-convention", "keras2"));
        tn::ImageFolderOptions options;
        options.size = tn::input_image_size<chapter5::RegularizedCNN<150, 150, 3>>();
        options.generator = chapter;
        options.seed = 42;
        options.workers = workers;
        options.prefetch = 4 * batch;
        std::printf("data_throughput: %s, 150x150x3, batch %zu, %zu epoch(s), hardware threads %u\n",
                    folder.string().c_str(), batch, epochs, std::thread::hardware_concurrency());

        tn::ImageFolderSource train(folder, options);
        const Rate augmented = measure(train, epochs, batch);
        auto validation = tn::ImageFolderSource::for_validation(folder, options);
        const Rate plain = measure(validation, epochs, batch);
        auto one = options;
        one.workers = 0;
        tn::ImageFolderSource inline_source(folder, one);
        const Rate single = measure(inline_source, 1, batch);
        const std::string with_workers = std::to_string(workers) + " workers";
        const std::size_t cores = std::max<std::size_t>(workers, 1);
        print(("decode+resize+augment+rescale, " + with_workers).c_str(), augmented, cores);
        print(("decode+resize+rescale (validation), " + with_workers).c_str(), plain, cores);
        print("decode+resize+augment+rescale, caller's thread", single, 1);
        std::printf("  peak samples held ready: %zu of %zu slots\n", train.peak_prefetched(), options.prefetch);
        measure_resampling(chapter, 300);

        // What the training step consumes.
        constexpr double chapter_gpu_rate = 3000.0 / 11.0;  // model C: 3,000 images per 11 s epoch (book, GPU)
        std::printf("training step (consumer):\n");
        std::printf("  %-52s %7.1f images/s\n", "model C in the book (Keras 2, GPU, 11 s/3000 images)",
                    chapter_gpu_rate);
        double consumer = chapter_gpu_rate;
        if (!cli.has("no-training-step")) {
            chapter5::RegularizedCNN<150, 150, 3> model;
            auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::RMSprop{.learning_rate = 1e-4f});
            std::vector<float> x(batch * train.sample_size()), y(batch);
            train.start_epoch(0);
            const std::size_t n = train.next_batch(x.data(), y.data(), batch);
            trainer.train_on_batch(x.data(), y.data(), n);  // warm-up: allocations
            const auto start = clock_type::now();
            for (std::size_t s = 0; s < steps; ++s) trainer.train_on_batch(x.data(), y.data(), n);
            const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
            const double cpu_rate = static_cast<double>(steps * n) / seconds;
            std::printf("  %-52s %7.1f images/s  (%.2f s per step)\n", "model C train_on_batch, typenet CPU, this machine",
                        cpu_rate, seconds / steps);
            consumer = std::max(consumer, cpu_rate);
        }
        const double margin = augmented.images_per_second / consumer;
        std::printf("verdict: the streamed source makes %.1f images/s, the fastest consumer above takes %.1f: %s "
                    "(%.1fx)\n",
                    augmented.images_per_second, consumer, margin >= 1.0 ? "the pipeline keeps up" : "DATA-BOUND",
                    margin);
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        if (!generated.empty()) fs::remove_all(generated);
        return 1;
    }
    if (!generated.empty()) fs::remove_all(generated);
    return 0;
}
