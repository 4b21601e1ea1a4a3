// typenet-convert and io/keras_hdf5.hpp: Keras HDF5 weights into typenet models.
//  (a) a full VGG-16 notop file in Keras 1's layout (as the file users download) and
//      Keras 2 variants, written here with libhdf5, convert bit-exactly, through the
//      function and through the built binary;
//  (b) files Keras itself wrote (tests/fixtures/keras/vgg_mini*.h5) convert, and the
//      converted model predicts what Keras predicted;
//  (c) broken files are refused with messages that name the layer and both shapes,
//      and nothing is written.
#include <boost/test/unit_test.hpp>

#include "files.hpp"
#include "scratch_directory.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "keras_h5_writer.hpp"
#include "typenet/backend/cpu/kernels.hpp"
#include "typenet/io/keras_hdf5.hpp"
#include "typenet/io/safetensors.hpp"
#include "typenet/io/weights.hpp"
#include "typenet/zoo/vgg.hpp"

namespace tn = typenet;
namespace fs = std::filesystem;

namespace {

using VggMini = tn::zoo::VGG<"vgg_mini", 32, 32, 3, tn::zoo::VGGBlock<1, 2, 4>, tn::zoo::VGGBlock<2, 2, 8>,
                             tn::zoo::VGGBlock<3, 3, 8>>;

const fs::path keras_fixtures = fs::path(TYPENET_FIXTURES_DIR) / "keras";

using TempDir = typenet_test::ScratchDirectory;

using typenet_test::message_of;
using typenet_test::read_bytes;
using typenet_test::write_bytes;

// Every parameter of `model` equals, bit for bit, what was written to the .h5.
template <class M>
void check_bit_exact(const M& model, const std::map<std::string, std::vector<float>>& written) {
    std::size_t checked = 0;
    model.for_each_parameter([&](std::string_view layer, const auto& parameter, bool) {
        const std::string name = std::string(layer) + "/" + std::string(parameter.name);
        const auto found = written.find(name);
        BOOST_TEST_REQUIRE((found != written.end()), "nothing written for " << name);
        const std::vector<float> values = parameter.values();
        BOOST_TEST_REQUIRE(values.size() == found->second.size());
        BOOST_TEST((std::memcmp(values.data(), found->second.data(), values.size() * sizeof(float)) == 0),
                   name << " differs from the .h5");
        ++checked;
    });
    BOOST_TEST(checked == written.size());
}

#ifdef TYPENET_CONVERT_PATH
struct Run {
    int status;
    std::string out, err;
};

// Runs the built typenet-convert with `arguments`, capturing stdout and stderr.
Run run_convert(const TempDir& dir, const std::string& arguments) {
    const fs::path out = dir / "stdout.txt", err = dir / "stderr.txt";
    const std::string command = std::string("'") + TYPENET_CONVERT_PATH + "' " + arguments + " >'" + out.string() +
                                "' 2>'" + err.string() + "'";
    const int raw = std::system(command.c_str());
    return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, read_bytes(out), read_bytes(err)};
}

std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }
#endif

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_SUITE(keras_weight_names)

BOOST_AUTO_TEST_CASE(keras_names_map_to_typenet_tensor_names) {
    using tn::io::detail::keras_tensor_name;
    BOOST_TEST(keras_tensor_name("block1_conv1", "block1_conv1_W_1:0", 0, 2) == "block1_conv1/kernel");
    BOOST_TEST(keras_tensor_name("block1_conv1", "block1_conv1_b_1:0", 1, 2) == "block1_conv1/bias");
    BOOST_TEST(keras_tensor_name("block1_conv1", "block1_conv1_W", 0, 2) == "block1_conv1/kernel");  // Theano era
    BOOST_TEST(keras_tensor_name("block1_conv1", "block1_conv1/kernel:0", 0, 2) == "block1_conv1/kernel");
    BOOST_TEST(keras_tensor_name("dense_1", "dense_1_1/bias:0", 1, 2) == "dense_1/bias");  // same layer, built twice
    BOOST_TEST(keras_tensor_name("vgg16", "block5_conv3/kernel:0", 0, 26) == "vgg16/block5_conv3/kernel");
    BOOST_TEST(keras_tensor_name("vgg16", "vgg16/block5_conv3/bias:0", 1, 26) == "vgg16/block5_conv3/bias");
    // Names that say nothing: by position, as Keras's loader.
    BOOST_TEST(keras_tensor_name("fc1", "param_0", 0, 2) == "fc1/kernel");
    BOOST_TEST(keras_tensor_name("fc1", "param_1", 1, 2) == "fc1/bias");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(convert_keras1_vgg16)

// (a) The exact layout of vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5.
BOOST_AUTO_TEST_CASE(full_vgg16_notop_file_round_trips_bit_exactly, *boost::unit_test::timeout(120)) {
    TempDir dir;
    const fs::path h5 = dir / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5";
    const auto written = keras_h5::write_file<tn::zoo::VGG16Base<>>(h5, {}, 16);
    BOOST_TEST(written.size() == 26u);

    const auto file = tn::io::read_keras_weights(h5);
    BOOST_TEST(file.layers.size() == 19u);  // input_1, 13 convolutions, 5 pools
    BOOST_TEST(file.layers.front().name == "input_1");
    BOOST_TEST(file.layers[1].weights[0].name == "block1_conv1_W_1:0");
    BOOST_TEST(file.keras_version.empty());
    BOOST_TEST(file.parameter_count() == tn::zoo::VGG16Base<>::param_count);

    const fs::path out = dir / "vgg16.safetensors";
    BOOST_TEST(tn::io::convert_keras_weights<tn::zoo::VGG16Base<>>(h5, out) == 26u);
    const auto metadata = tn::io::read_safetensors_metadata(out);
    BOOST_TEST(metadata.at("source") == "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5");
    BOOST_TEST(metadata.at("model") == "vgg16");
    BOOST_TEST(!metadata.contains("keras_version"));

    // The input size does not change the weights: load into the chapter's 150x150 base.
    auto model = std::make_unique<tn::zoo::VGG16Base<150, 150>>(tn::no_initialization);
    tn::io::load_weights(*model, out);
    check_bit_exact(*model, written);

    const auto tensors = tn::io::read_safetensors(out);
    BOOST_TEST(tensors.front().name == "block1_conv1/kernel");
    BOOST_TEST(tensors.back().name == "block5_conv3/bias");

#ifdef TYPENET_CONVERT_PATH
    // The installed tool does the same, byte for byte.
    const fs::path tool_out = dir / "vgg16_tool.safetensors";
    const Run run = run_convert(dir, "--model vgg16 " + quoted(h5) + " " + quoted(tool_out));
    BOOST_TEST(run.status == 0, run.err);
    BOOST_TEST(contains(run.out, "26 tensors"), run.out);
    BOOST_TEST((read_bytes(tool_out) == read_bytes(out)));
#else
    BOOST_TEST_MESSAGE("typenet-convert not built: the binary is not exercised");
#endif
}

// Keras's load_attributes_from_hdf5_group: large name lists come as layer_names0, layer_names1.
BOOST_AUTO_TEST_CASE(split_layer_names_attribute_is_read_in_order, *boost::unit_test::timeout(120)) {
    TempDir dir;
    const fs::path h5 = dir / "vgg19_split.h5";
    keras_h5::Options options;
    options.split_layer_names = true;
    const auto written = keras_h5::write_file<tn::zoo::VGG19Base<>>(h5, options, 19);
    const auto file = tn::io::read_keras_weights(h5, false);
    BOOST_TEST_REQUIRE(file.layers.size() == 22u);
    BOOST_TEST(file.layers[0].name == "input_1");
    BOOST_TEST(file.layers[11].name == "block3_pool");  // first of the second chunk
    BOOST_TEST(file.layers.back().name == "block5_pool");

    const fs::path out = dir / "vgg19.safetensors";
    BOOST_TEST(tn::io::convert_keras_weights<tn::zoo::VGG19Base<>>(h5, out) == 32u);
    auto model = std::make_unique<tn::zoo::VGG19Base<64, 64>>(tn::no_initialization);
    tn::io::load_weights(*model, out);
    check_bit_exact(*model, written);
}

// Keras 2 names, variable-length strings, float64 weights, a whole-model save.
BOOST_AUTO_TEST_CASE(keras2_layout_variable_strings_float64_model_weights) {
    TempDir dir;
    keras_h5::Options options;
    options.keras2 = true;
    options.variable_length = true;
    options.float64 = true;
    options.model_weights_root = true;
    const fs::path h5 = dir / "mini_full.h5";
    const auto written = keras_h5::write_file<VggMini>(h5, options, 5);
    const auto file = tn::io::read_keras_weights(h5);
    BOOST_TEST(file.root == "/model_weights");
    BOOST_TEST(file.keras_version == "2.2.4");
    BOOST_TEST(file.backend == "tensorflow");
    BOOST_TEST(file.layers[1].weights[0].dtype == "float64");

    const fs::path out = dir / "mini.safetensors";
    tn::io::convert_keras_weights<VggMini>(h5, out);
    BOOST_TEST(tn::io::read_safetensors_metadata(out).at("keras_version") == "2.2.4");
    VggMini model(tn::no_initialization);
    tn::io::load_weights(model, out);
    check_bit_exact(model, written);  // float32 -> float64 -> float32 is exact
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(convert_keras_made_files)

// (b) Files tf.keras wrote (tests/fixtures/make_keras_fixtures.py), and its predictions.
void check_predictions_match_keras(const fs::path& h5) {
    TempDir dir;
    const fs::path out = dir / "vgg_mini.safetensors";
    BOOST_TEST(tn::io::convert_keras_weights<VggMini>(h5, out) == 14u);
    VggMini model(tn::no_initialization);
    tn::io::load_weights(model, out);

    const auto io = tn::io::read_safetensors(keras_fixtures / "vgg_mini_io.safetensors");
    const auto& input = io[0].name == "input" ? io[0] : io[1];
    const auto& expected = io[0].name == "output" ? io[0] : io[1];
    BOOST_TEST_REQUIRE((input.shape == std::vector<std::size_t>{3, 32, 32, 3}));
    BOOST_TEST_REQUIRE((expected.shape == std::vector<std::size_t>{3, 4, 4, 8}));

    std::vector<float> output(expected.values.size());
    model.forward(input.values.data(), output.data(), 3, tn::Mode::infer);
    double largest = 0, worst = 0;
    std::size_t positive = 0, worst_at = 0;
    for (std::size_t i = 0; i < output.size(); ++i) {
        const double difference = std::abs(static_cast<double>(output[i]) - expected.values[i]);
        if (difference > worst) worst = difference, worst_at = i;
        largest = std::max(largest, std::abs(static_cast<double>(expected.values[i])));
        positive += expected.values[i] > 0 ? 1 : 0;
    }
    BOOST_TEST(worst <= 1e-4, "largest difference " << worst << " at output " << worst_at << ": typenet "
                                                    << output[worst_at] << ", Keras " << expected.values[worst_at]);
    // The comparison means something: Keras's outputs are not all (near) zero.
    BOOST_TEST(largest > 0.1);
    BOOST_TEST(positive > output.size() / 4);
}

BOOST_AUTO_TEST_CASE(keras_save_weights_file_predicts_as_keras) {
    const auto file = tn::io::read_keras_weights(keras_fixtures / "vgg_mini.h5");
    BOOST_TEST(file.root == "/");
    BOOST_TEST(file.keras_version == "2.15.0");
    BOOST_TEST(file.layers.size() == 11u);
    BOOST_TEST(file.layers[1].weights[0].name == "block1_conv1/kernel:0");
    check_predictions_match_keras(keras_fixtures / "vgg_mini.h5");
}

BOOST_AUTO_TEST_CASE(keras_whole_model_save_predicts_as_keras) {
    const auto file = tn::io::read_keras_weights(keras_fixtures / "vgg_mini_full.h5");
    BOOST_TEST(file.root == "/model_weights");
    check_predictions_match_keras(keras_fixtures / "vgg_mini_full.h5");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(convert_errors)

// (c) Nothing is written on error: an existing output stays as it was.
BOOST_AUTO_TEST_CASE(missing_layer_is_named_and_nothing_is_written) {
    TempDir dir;
    keras_h5::Options options;
    options.skip_layer = "block2_conv2";
    const fs::path h5 = dir / "missing.h5", out = dir / "out.safetensors";
    keras_h5::write_file<VggMini>(h5, options);
    write_bytes(out, "previous contents");

    const std::string message = message_of<tn::io::WeightsMismatch>([&] { tn::io::convert_keras_weights<VggMini>(h5, out); });
    BOOST_TEST(contains(message, h5.string()), message);
    BOOST_TEST(contains(message, "missing layer block2_conv2"), message);
    BOOST_TEST(contains(message, "(3, 3, 8, 8)"), message);  // what the model expected there
    BOOST_TEST(read_bytes(out) == "previous contents");
    BOOST_TEST(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 2);  // no temp files left

#ifdef TYPENET_CONVERT_PATH
    // The tool can only convert to its own models; the VGG-16 checks report every missing block.
    const Run run = run_convert(dir, "--model vgg16 " + quoted(h5) + " " + quoted(out));
    BOOST_TEST(run.status == 1);
    BOOST_TEST(contains(run.err, "missing layer block5_conv3"), run.err);
    BOOST_TEST(read_bytes(out) == "previous contents");
#endif
}

BOOST_AUTO_TEST_CASE(wrong_kernel_shape_names_layer_and_both_shapes) {
    TempDir dir;
    keras_h5::Options options;
    options.wrong_kernel_layer = "block3_conv1";
    const fs::path h5 = dir / "wrong.h5", out = dir / "out.safetensors";
    keras_h5::write_file<VggMini>(h5, options);
    const std::string message = message_of<tn::io::WeightsMismatch>([&] { tn::io::convert_keras_weights<VggMini>(h5, out); });
    BOOST_TEST(contains(message, "layer block3_conv1: kernel shape mismatch: file has (3, 3, 8, 16)"), message);
    BOOST_TEST(contains(message, "model expects (3, 3, 8, 8)"), message);
    BOOST_TEST(contains(message, "block3_conv1_W_1:0"), message);  // the dataset, as the file names it
    BOOST_TEST(!fs::exists(out));
}

BOOST_AUTO_TEST_CASE(extra_layer_is_reported_with_a_hint_for_the_top_file) {
    TempDir dir;
    keras_h5::Options options;
    options.extra_layer = "fc1";
    const fs::path h5 = dir / "with_top.h5", out = dir / "out.safetensors";
    keras_h5::write_file<VggMini>(h5, options);
    try {
        tn::io::convert_keras_weights<VggMini>(h5, out);
        BOOST_FAIL("an extra layer was accepted");
    } catch (const tn::io::WeightsMismatch& error) {
        BOOST_TEST(error.problems().size() == 1u);
        BOOST_TEST(contains(error.what(), "extra layer fc1 in the file (fc1_W_1:0 (8, 2), fc1_b_1:0 (2,))"), error.what());
        BOOST_TEST(contains(error.what(), "_notop.h5"), error.what());
    }
    BOOST_TEST(!fs::exists(out));
}

BOOST_AUTO_TEST_CASE(dataset_listed_but_absent_names_the_dataset) {
    TempDir dir;
    keras_h5::Options options;
    options.missing_dataset_layer = "block1_conv2";
    const fs::path h5 = dir / "holes.h5";
    keras_h5::write_file<VggMini>(h5, options);
    const std::string message = message_of<tn::io::FormatError>([&] { tn::io::read_keras_weights(h5); });
    BOOST_TEST(contains(message, h5.string()), message);
    BOOST_TEST(contains(message, "/block1_conv2/block1_conv2_b_1:0"), message);
}

BOOST_AUTO_TEST_CASE(files_that_are_not_keras_weights) {
    TempDir dir;
    const fs::path text = dir / "notes.h5";
    write_bytes(text, "this is not HDF5\n");
    std::string message = message_of<tn::io::FormatError>([&] { tn::io::read_keras_weights(text); });
    BOOST_TEST(contains(message, text.string()), message);
    BOOST_TEST(contains(message, "not an HDF5 file"), message);

    message = message_of<tn::io::FormatError>([&] { tn::io::read_keras_weights(dir / "absent.h5"); });
    BOOST_TEST(contains(message, "absent.h5: no such file"), message);

    // HDF5, but not from Keras.
    const fs::path other = dir / "other.h5";
    {
        keras_h5::Id file(H5Fcreate(other.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
        keras_h5::write_dataset(file, "images", {2, 2}, {1, 2, 3, 4}, false);
    }
    message = message_of<tn::io::FormatError>([&] { tn::io::read_keras_weights(other); });
    BOOST_TEST(contains(message, "not a Keras weights file"), message);
    BOOST_TEST(contains(message, "images"), message);

#ifdef TYPENET_CONVERT_PATH
    const fs::path out = dir / "out.safetensors";
    const Run run = run_convert(dir, "--model vgg16 " + quoted(text) + " " + quoted(out));
    BOOST_TEST(run.status == 1);
    BOOST_TEST(contains(run.err, "not an HDF5 file"), run.err);
    BOOST_TEST(!fs::exists(out));
#endif
}

#ifdef TYPENET_CONVERT_PATH
BOOST_AUTO_TEST_CASE(list_prints_layers_and_weight_shapes) {
    TempDir dir;
    const fs::path h5 = dir / "mini.h5";
    keras_h5::write_file<VggMini>(h5, {});
    const Run run = run_convert(dir, "--list " + quoted(h5));
    BOOST_TEST(run.status == 0, run.err);
    BOOST_TEST(run.out == tn::io::describe_keras_weights(tn::io::read_keras_weights(h5, false)));
    BOOST_TEST(contains(run.out, "keras_version: (not recorded: Keras 1)"), run.out);
    BOOST_TEST(contains(run.out, "input_1  (no weights)\n"), run.out);
    BOOST_TEST(contains(run.out, "block1_pool  (no weights)\n"), run.out);
    BOOST_TEST(contains(run.out, "  block1_conv1_W_1:0              (3, 3, 3, 4)          float32  -> block1_conv1/kernel\n"),
               run.out);
    BOOST_TEST(contains(run.out, "  block3_conv3_b_1:0              (8,)                  float32  -> block3_conv3/bias\n"),
               run.out);
    BOOST_TEST(contains(run.out, "11 layers, 7 with weights, 14 tensors, 2892 parameters"), run.out);

    const Run usage = run_convert(dir, "--model resnet152 " + quoted(h5) + " " + quoted(dir / "x.safetensors"));
    BOOST_TEST(usage.status == 2);
    BOOST_TEST(contains(usage.err, "unknown model 'resnet152'"), usage.err);
    BOOST_TEST(contains(usage.err, "vgg19"), usage.err);
    BOOST_TEST(contains(usage.err, "mobilenetv2"), usage.err);
}
#endif

BOOST_AUTO_TEST_SUITE_END()
