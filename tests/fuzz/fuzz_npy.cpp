// libFuzzer harness: read_npy on arbitrary bytes (FormatError expected, nothing else).
#include <cstddef>
#include <cstdint>

#include "fuzz_input.hpp"
#include "typenet/io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static typenet_fuzz::MemoryFile file("fuzz.npy");
    try {
        const auto array = typenet::io::read_npy(file.hold(data, size));
        (void)array;
    } catch (const typenet::io::FormatError&) {
    }
    return 0;
}
