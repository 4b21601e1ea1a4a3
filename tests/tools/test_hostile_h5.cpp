// Hostile Keras HDF5 files (issue 16): shapes and stored sizes are checked (and, when
// converting, compared with the model) before any value is allocated; dimension
// products never overflow; and typenet-convert, if libhdf5 dies under it, says which
// file it was reading. The files are made here with libhdf5; readers run in a child
// process that must end with an error, not a signal, under 256 MB.
#include <boost/test/unit_test.hpp>

#include "child_process.hpp"
#include "files.hpp"
#include "scratch_directory.hpp"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "keras_h5_writer.hpp"
#include "typenet/io/keras_hdf5.hpp"
#include "typenet/zoo/vgg.hpp"

namespace tn = typenet;
namespace fs = std::filesystem;
using typenet_test::run_in_child;

namespace {

using TinyVgg = tn::zoo::VGG<"tiny_vgg", 8, 8, 3, tn::zoo::VGGBlock<1, 1, 2>>;

constexpr double memory_bound = typenet_test::memory_bound_mb(256.0);

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A Keras-layout file with one layer `layer` and one weight `layer/kernel:0` of `dims`,
// created but never written (no storage), chunked when asked (so huge extents are legal).
void write_claiming_file(const fs::path& path, const std::string& layer, const std::vector<hsize_t>& dims,
                         bool chunked) {
    keras_h5::Id file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    keras_h5::write_strings(file, "layer_names", {layer}, false);
    keras_h5::Id group(H5Gcreate2(file, layer.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
    const std::string weight = layer + "/kernel:0";
    keras_h5::write_strings(group, "weight_names", {weight}, false);
    keras_h5::Id space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
    keras_h5::Id links(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
    keras_h5::check(H5Pset_create_intermediate_group(links, 1));
    keras_h5::Id create(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    if (chunked) {
        const std::vector<hsize_t> chunk(dims.size(), 1);
        keras_h5::check(H5Pset_chunk(create, static_cast<int>(chunk.size()), chunk.data()));
    }
    keras_h5::Id dataset(H5Dcreate2(group, weight.c_str(), H5T_IEEE_F32LE, space, links, create, H5P_DEFAULT), H5Dclose);
}

#ifdef TYPENET_CONVERT_PATH
struct ToolRun {
    int status = -1;
    int signal = 0;
    std::string out, err;
};

ToolRun run_tool(const typenet_test::ScratchDirectory& dir, const std::vector<std::string>& arguments,
                 std::chrono::milliseconds kill_after = std::chrono::milliseconds(0)) {
    const fs::path out = dir / "tool_stdout.txt", err = dir / "tool_stderr.txt";
    const pid_t pid = ::fork();
    if (pid == 0) {
        if (!std::freopen(out.c_str(), "w", stdout) || !std::freopen(err.c_str(), "w", stderr)) ::_exit(127);
        std::vector<char*> argv{const_cast<char*>(TYPENET_CONVERT_PATH)};
        for (const auto& a : arguments) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(TYPENET_CONVERT_PATH, argv.data());
        ::_exit(127);
    }
    if (kill_after.count() > 0) {
        std::this_thread::sleep_for(kill_after);
        ::kill(pid, SIGSEGV);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    ToolRun run;
    if (WIFEXITED(status)) run.status = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) run.signal = WTERMSIG(status);
    run.out = typenet_test::read_bytes(out);
    run.err = typenet_test::read_bytes(err);
    return run;
}
#endif

}  // namespace

BOOST_AUTO_TEST_SUITE(hostile_h5)

BOOST_AUTO_TEST_CASE(a_dataset_claiming_100000_squared_with_no_data_is_refused_before_allocating) {
    typenet_test::ScratchDirectory dir("hostile-h5");
    const fs::path h5 = dir / "claims_40GB.h5";
    write_claiming_file(h5, "dense", {100000, 100000}, false);
    BOOST_TEST(fs::file_size(h5) < 100'000u);

    // Names and shapes alone read fine (that is what --list shows).
    const auto listed = tn::io::read_keras_weights(h5, false);
    BOOST_TEST(listed.layers.at(0).weights.at(0).shape == (std::vector<std::size_t>{100000, 100000}));

    // Reading the values: refused from the stored size, in bounded memory.
    const auto read = run_in_child([&] { tn::io::read_keras_weights(h5); });
    BOOST_TEST_INFO(read.describe() << ", peak " << read.peak_rss_mb() << " MB, added " << read.added_mb() << " MB");
    BOOST_TEST(read.signal == 0);
    BOOST_TEST(read.threw);
    BOOST_TEST(contains(read.message, h5.string()));
    BOOST_TEST(contains(read.message, "/dense/dense/kernel:0"));
    BOOST_TEST(contains(read.message, "needs 40000000000 bytes, but the file stores none of them"));
    BOOST_TEST(read.added_mb() < memory_bound);

    // Converting: the shapes are compared with the model first, so this is a mismatch.
    const fs::path out = dir / "out.safetensors";
    const auto convert = run_in_child([&] { tn::io::convert_keras_weights<TinyVgg>(h5, out); });
    BOOST_TEST_INFO(convert.describe() << ", peak " << convert.peak_rss_mb() << " MB, added " << convert.added_mb() << " MB");
    BOOST_TEST(convert.threw);
    BOOST_TEST(contains(convert.message, "extra layer dense in the file (dense/kernel:0 (100000, 100000))"));
    BOOST_TEST(convert.added_mb() < memory_bound);
    BOOST_TEST(!fs::exists(out));
}

BOOST_AUTO_TEST_CASE(a_weight_of_the_right_shape_with_no_stored_data_is_refused) {
    typenet_test::ScratchDirectory dir("hostile-h5");
    const fs::path h5 = dir / "hollow.h5";
    write_claiming_file(h5, "block1_conv1", {3, 3, 3, 2}, false);
    const auto message = typenet_test::message_of<tn::io::FormatError>([&] { tn::io::read_keras_weights(h5); });
    BOOST_TEST(contains(message, "block1_conv1/kernel:0"), message);
    BOOST_TEST(contains(message, "stores none of them"), message);
}

BOOST_AUTO_TEST_CASE(dimension_products_that_overflow_are_refused_even_for_listing) {
    typenet_test::ScratchDirectory dir("hostile-h5");
    const fs::path h5 = dir / "overflow.h5";
    write_claiming_file(h5, "dense", {hsize_t{1} << 40, hsize_t{1} << 40, hsize_t{1} << 40}, true);
    const auto outcome = run_in_child([&] { tn::io::describe_keras_weights(tn::io::read_keras_weights(h5, false)); });
    BOOST_TEST_INFO(outcome.describe());
    BOOST_TEST(outcome.threw);
    BOOST_TEST(contains(outcome.message, "(1099511627776, 1099511627776, 1099511627776) is too large to address"));
    BOOST_TEST(outcome.added_mb() < memory_bound);
#ifdef TYPENET_CONVERT_PATH
    const auto run = run_tool(dir, {"--list", h5.string()});
    BOOST_TEST(run.status == 1);
    BOOST_TEST(contains(run.err, "too large to address"), run.err);
#endif
}

#ifdef TYPENET_CONVERT_PATH
BOOST_AUTO_TEST_CASE(the_tool_refuses_a_huge_claim_as_a_mismatch) {
    typenet_test::ScratchDirectory dir("hostile-h5");
    const fs::path h5 = dir / "claims_40GB.h5";
    write_claiming_file(h5, "block1_conv1", {100000, 100000}, false);
    const fs::path out = dir / "vgg16.safetensors";
    const auto run = run_tool(dir, {"--model", "vgg16", h5.string(), out.string()});
    BOOST_TEST(run.status == 1, run.err);
    BOOST_TEST(contains(run.err, "block1_conv1: kernel shape mismatch: file has (100000, 100000)"), run.err);
    BOOST_TEST(!fs::exists(out));
}

BOOST_AUTO_TEST_CASE(a_crash_while_reading_names_the_file) {
    // A FIFO with no writer blocks the tool inside its first read of the file; a SIGSEGV
    // sent then stands for a crash inside libhdf5. The tool must say what it was reading
    // and still die of that signal.
    typenet_test::ScratchDirectory dir("hostile-h5");
    const fs::path fifo = dir / "stuck.h5";
    BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const auto run = run_tool(dir, {"--list", fifo.string()}, std::chrono::milliseconds(500));
    BOOST_TEST(run.signal == SIGSEGV);
    BOOST_TEST(contains(run.err, "typenet-convert: fatal signal SIGSEGV"), run.err);
    BOOST_TEST(contains(run.err, "while reading " + fifo.string()), run.err);
}
#endif

BOOST_AUTO_TEST_SUITE_END()
