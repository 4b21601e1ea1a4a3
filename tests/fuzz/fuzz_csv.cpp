// libFuzzer harness: read_csv on arbitrary bytes (FormatError expected, nothing else).
#include <cstddef>
#include <cstdint>

#include "fuzz_input.hpp"
#include "typenet/io/csv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static typenet_fuzz::MemoryFile file("fuzz.csv");
    try {
        (void)typenet::io::read_csv(file.hold(data, size));
    } catch (const typenet::io::FormatError&) {
    }
    return 0;
}
