// Makes what the example programs' smoke tests need, without the real data:
//   <out>/kaggle/cat.<n>.jpg, dog.<n>.jpg   a Kaggle-style train/ folder of small JPEGs of
//                                           varied sizes (cat: a blue disc, dog: a red
//                                           square, on noise), `per_class` of each
//   <out>/vgg16.safetensors                 a "converted VGG-16": VGG16Base<150, 150> with
//                                           seeded random (glorot) weights, saved as
//                                           typenet-convert names them (block1_conv1/kernel, ...)
//
//   make_synthetic_chapter_data OUT PER_CLASS
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "typenet/io/weights.hpp"
#include "typenet/typenet.hpp"
#include "typenet/zoo/vgg.hpp"

namespace fs = std::filesystem;
namespace tn = typenet;

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: make_synthetic_chapter_data OUT PER_CLASS\n";
        return 2;
    }
    const fs::path out = argv[1];
    const int per_class = std::atoi(argv[2]);
    fs::remove_all(out);
    fs::create_directories(out / "kaggle");
    for (const std::string cls : {"cat", "dog"}) {
        for (int n = 0; n < per_class; ++n) {
            const int height = 90 + (n * 37) % 110, width = 100 + (n * 53) % 120;
            cv::Mat bgr(height, width, CV_8UC3);
            cv::RNG rng(static_cast<std::uint64_t>(n) * 7919u + cls.size());
            rng.fill(bgr, cv::RNG::UNIFORM, 0, 70);
            const int r = std::min(height, width) / 3, cx = width / 2 + n % 9 - 4, cy = height / 2 + n % 7 - 3;
            if (cls == "cat")
                cv::circle(bgr, {cx, cy}, r, cv::Scalar(230, 40, 40), cv::FILLED);
            else
                cv::rectangle(bgr, cv::Rect(cx - r, cy - r, 2 * r, 2 * r), cv::Scalar(40, 40, 230), cv::FILLED);
            const fs::path file = out / "kaggle" / (cls + "." + std::to_string(n) + ".jpg");
            if (!cv::imwrite(file.string(), bgr, {cv::IMWRITE_JPEG_QUALITY, 90})) {
                std::cerr << "cannot write " << file << "\n";
                return 1;
            }
        }
    }
    tn::zoo::VGG16Base<150, 150> vgg16{7};
    tn::io::save_weights(vgg16, out / "vgg16.safetensors");
    std::cout << "wrote " << 2 * per_class << " JPEGs to " << (out / "kaggle").string() << " and "
              << (out / "vgg16.safetensors").string() << " (" << tn::zoo::VGG16Base<150, 150>::param_count
              << " random parameters)\n";
    return 0;
}
