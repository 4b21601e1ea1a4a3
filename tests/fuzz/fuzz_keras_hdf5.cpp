// libFuzzer harness: the Keras HDF5 reader on arbitrary bytes, names and shapes only
// (as --list reads) and then with values. FormatError is the expected answer.
// libhdf5 itself is not built with the sanitizers, so this finds typenet's mistakes in
// using it; a crash inside libhdf5 on a damaged file is libhdf5's (typenet-convert
// reports the file and layer if it happens there).
#include <cstddef>
#include <cstdint>

#include "fuzz_input.hpp"
#include "typenet/io/keras_hdf5.hpp"

// libhdf5 (not built with the sanitizers, not typenet's code) asks malloc for absurd sizes
// on a damaged superblock or object header (6e18 bytes; 16 GB for a 6.6 KB file while it
// opens it, reproducers/keras_hdf5/libhdf5_asks_16gb.h5) and reports the failure as an
// error when malloc says no, and it leaks on some of its error paths: let malloc say no
// past 1 GB (libFuzzer's -malloc_limit_mb, which would otherwise count libhdf5's request as
// typenet's finding), and do not report its leaks. A huge allocation of typenet's own goes
// through operator new, which ASan still reports as out of memory: a finding.
extern "C" const char* __asan_default_options() {
    return "allocator_may_return_null=1:max_allocation_size_mb=1024:detect_leaks=0";
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static typenet_fuzz::MemoryFile file("fuzz.h5");
    const auto& path = file.hold(data, size);
    for (bool values : {false, true}) {
        try {
            const auto weights = typenet::io::read_keras_weights(path, values);
            (void)typenet::io::describe_keras_weights(weights);
        } catch (const typenet::io::FormatError&) {
        }
    }
    return 0;
}
