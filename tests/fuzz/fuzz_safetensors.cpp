// libFuzzer harness: read_safetensors and read_safetensors_metadata on arbitrary bytes.
// A FormatError is the expected answer to a bad file; anything else (a crash, a
// sanitizer report, another exception, memory past -rss_limit_mb) is a finding.
#include <cstddef>
#include <cstdint>

#include "fuzz_input.hpp"
#include "typenet/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static typenet_fuzz::MemoryFile file("fuzz.safetensors");
    const auto& path = file.hold(data, size);
    try {
        (void)typenet::io::read_safetensors(path);
    } catch (const typenet::io::FormatError&) {
    }
    try {
        (void)typenet::io::read_safetensors_metadata(path);
    } catch (const typenet::io::FormatError&) {
    }
    return 0;
}
