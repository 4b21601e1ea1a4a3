// libFuzzer harness: the IDX reader, plain or gzip (zlib tells them apart by the
// bytes), as labels (rank 1) and images (rank 3). FormatError expected, nothing else.
#include <cstddef>
#include <cstdint>

#include "fuzz_input.hpp"
#include "typenet/data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static typenet_fuzz::MemoryFile file("fuzz.idx");
    const auto& path = file.hold(data, size);
    for (std::size_t rank : {1, 3}) {
        try {
            (void)typenet::read_idx(path, rank);
        } catch (const typenet::io::FormatError&) {
        }
    }
    try {
        (void)typenet::read_idx_images(path, 3);  // the limited read path too
    } catch (const typenet::io::FormatError&) {
    }
    return 0;
}
