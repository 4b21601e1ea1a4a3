// libFuzzer harness: an image file's bytes through the probe, the decoder and the
// resize to a model's input (nearest and bilinear, RGB and gray), as a training folder
// would read them. ImageReadError is the expected answer to a bad file.
// The pixel limit is lowered to 2^22 (4 megapixels) so that a valid large image stays
// inside libFuzzer's -rss_limit_mb; the header checks are the same at any limit.
#include <cstddef>
#include <cstdint>

#include "fuzz_input.hpp"
#include "typenet/data/image_loading.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    typenet::set_max_image_pixels(std::size_t{1} << 22);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static typenet_fuzz::MemoryFile file("fuzz.image");
    const auto& path = file.hold(data, size);
    (void)typenet::probe_image_file(path);
    try {
        (void)typenet::read_image(path, {32, 24, 3}, typenet::Interpolation::nearest);
        (void)typenet::read_image(path, {17, 40, 1}, typenet::Interpolation::bilinear);
    } catch (const typenet::ImageReadError&) {
    }
    return 0;
}
