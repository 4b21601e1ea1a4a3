// libFuzzer harness: the Keras HDF5 reader on arbitrary bytes, names and shapes only
// (as --list reads) and then with values. FormatError is the expected answer.
// libhdf5 itself is not built with the sanitizers, so this finds typenet's mistakes in
// using it; a crash inside libhdf5 on a damaged file is libhdf5's (typenet-convert
// reports the file and layer if it happens there).
#include <cstddef>
#include <cstdint>

#include "fuzz_input.hpp"
#include "typenet/io/keras_hdf5.hpp"

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
