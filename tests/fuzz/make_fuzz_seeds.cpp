// make_fuzz_seeds DIR: the seed corpus of every harness, written by typenet's own
// writers (write_safetensors, write_npy, write_csv, CsvAppender; the Keras HDF5 writer
// of tests/tools; IDX files as Fashion-MNIST lays them out, plain and gzip; images as
// OpenCV, typenet's decoder, encodes them), so the fuzzers start from valid files and
// mutate from there. DIR/<reader>/ for reader in safetensors npy idx csv image keras_hdf5.
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "typenet/io/csv.hpp"
#include "typenet/io/npy.hpp"
#include "typenet/io/safetensors.hpp"

#ifdef TYPENET_FUZZ_IMAGES
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#endif
#ifdef TYPENET_FUZZ_HDF5
#include "keras_h5_writer.hpp"
#include "typenet/zoo/vgg.hpp"
#endif

namespace fs = std::filesystem;
namespace io = typenet::io;

namespace {

void write_bytes(const fs::path& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string big_endian(std::uint32_t value) {
    return {static_cast<char>(value >> 24), static_cast<char>(value >> 16), static_cast<char>(value >> 8),
            static_cast<char>(value)};
}

void write_gzip(const fs::path& path, const std::string& bytes) {
    gzFile out = gzopen(path.c_str(), "wb9");
    if (out == nullptr || gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size())) != static_cast<int>(bytes.size()))
        throw std::runtime_error("cannot write " + path.string());
    gzclose(out);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: make_fuzz_seeds DIR\n";
        return 2;
    }
    const fs::path root = argv[1];
    for (const char* reader : {"safetensors", "npy", "idx", "csv", "image", "keras_hdf5"})
        fs::create_directories(root / reader);

    io::write_safetensors(root / "safetensors" / "two.safetensors",
                          {{"dense/kernel", {2, 3}, {1, 2, 3, 4, 5, 6}}, {"dense/bias", {3}, {0.5f, -1, 2}}},
                          {{"format", "typenet"}, {"model", "tiny"}});
    io::write_safetensors(root / "safetensors" / "scalar.safetensors", {{"s", {}, {7}}});
    io::write_safetensors(root / "safetensors" / "empty.safetensors", {});

    const std::vector<float> values{1, 2, 3, 4, 5, 6};
    io::write_npy(root / "npy" / "matrix.npy", {2, 3}, values.data());
    io::write_npy(root / "npy" / "scalar.npy", {}, values.data());
    io::write_npy(root / "npy" / "empty.npy", {0, 4}, nullptr);
    io::write_npy(root / "npy" / "four.npy", {1, 2, 1, 3}, values.data());

    const std::string labels = big_endian(0x801) + big_endian(5) + std::string("\x01\x02\x03\x04\x05", 5);
    std::string images = big_endian(0x803) + big_endian(2) + big_endian(3) + big_endian(4);
    for (int i = 0; i < 24; ++i) images.push_back(static_cast<char>(i * 10));
    write_bytes(root / "idx" / "labels-idx1-ubyte", labels);
    write_bytes(root / "idx" / "images-idx3-ubyte", images);
    write_gzip(root / "idx" / "labels-idx1-ubyte.gz", labels);
    write_gzip(root / "idx" / "images-idx3-ubyte.gz", images);

    io::write_csv(root / "csv" / "history.csv",
                  {{"epoch", "accuracy", "loss", "val_accuracy", "val_loss"}, {{0, 0.5, 0.69, 0.55, 0.68}, {1, 0.6, 0.6, 0.62, 0.61}}});
    {
        io::CsvAppender log(root / "csv" / "quoted.csv", {"epoch", "a,b", "say \"hi\""});
        log.append_row({0, 1e-7, std::numeric_limits<double>::quiet_NaN()});
        log.append_row({1, -2.5, std::numeric_limits<double>::infinity()});
    }

#ifdef TYPENET_FUZZ_IMAGES
    cv::Mat picture(12, 16, CV_8UC3);
    cv::randu(picture, 0, 256);
    cv::Mat gray(9, 7, CV_8UC1);
    cv::randu(gray, 0, 256);
    for (const std::string extension : {".jpg", ".png", ".bmp", ".ppm", ".pgm", ".tiff", ".webp"}) {
        std::vector<std::uint8_t> bytes;
        const cv::Mat& source = extension == ".pgm" ? gray : picture;
        if (cv::imencode(extension, source, bytes))
            write_bytes(root / "image" / ("picture" + extension), std::string(bytes.begin(), bytes.end()));
    }
#endif

#ifdef TYPENET_FUZZ_HDF5
    using Tiny = typenet::zoo::VGG<"tiny_vgg", 8, 8, 3, typenet::zoo::VGGBlock<1, 1, 2>>;
    keras_h5::write_file<Tiny>(root / "keras_hdf5" / "keras1.h5", {});
    keras_h5::Options keras2;
    keras2.keras2 = true;
    keras2.variable_length = true;
    keras2.model_weights_root = true;
    keras_h5::write_file<Tiny>(root / "keras_hdf5" / "keras2_whole_model.h5", keras2);
#endif
    std::cout << "seeds written to " << root.string() << "\n";
    return 0;
}
