// typenet-convert for ResNet-50 and MobileNetV2: full-size files in Keras 2's layout
// (conv1_conv/kernel:0, BatchNormalization's four tensors) and in Keras 3's legacy .h5
// spelling (conv1_conv/kernel, DepthwiseConv2D's `kernel`) convert bit-exactly; a file of
// another backbone, or one missing a moving statistic, is refused naming what is wrong, and
// nothing is written. (Files Keras itself wrote: tests/fixtures/keras/*_mini*.h5, below.)
#include <boost/test/unit_test.hpp>

#include "files.hpp"
#include "scratch_directory.hpp"

#include <sys/wait.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "keras_h5_writer.hpp"
#include "typenet/io/keras_hdf5.hpp"
#include "typenet/io/safetensors.hpp"
#include "typenet/zoo/mobilenet.hpp"
#include "typenet/zoo/resnet.hpp"
#include "typenet/zoo/vgg.hpp"

namespace tn = typenet;
namespace fs = std::filesystem;

namespace {

using typenet_test::message_of;
using typenet_test::read_bytes;
using typenet_test::write_bytes;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The safetensors file holds exactly what was written to the .h5, bit for bit, by name.
void check_converted(const fs::path& out, const std::map<std::string, std::vector<float>>& written) {
    const auto tensors = tn::io::read_safetensors(out);
    BOOST_TEST(tensors.size() == written.size());
    std::size_t same = 0;
    for (const auto& t : tensors) {
        std::string key = t.name;
        const auto found = written.find(key);
        BOOST_TEST_REQUIRE((found != written.end()), "not written: " << key);
        BOOST_TEST_REQUIRE(t.values.size() == found->second.size(), key);
        same += std::memcmp(t.values.data(), found->second.data(), t.values.size() * sizeof(float)) == 0 ? 1 : 0;
    }
    BOOST_TEST(same == written.size());
}

#ifdef TYPENET_CONVERT_PATH
struct Run {
    int status;
    std::string out, err;
};
Run run_convert(const fs::path& dir, const std::string& arguments) {
    const fs::path out = dir / "stdout.txt", err = dir / "stderr.txt";
    const std::string command = std::string("'") + TYPENET_CONVERT_PATH + "' " + arguments + " >'" + out.string() +
                                "' 2>'" + err.string() + "'";
    const int raw = std::system(command.c_str());
    return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, read_bytes(out), read_bytes(err)};
}
std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }
#endif

}  // namespace

BOOST_AUTO_TEST_SUITE(backbone_weights)

BOOST_AUTO_TEST_CASE(resnet50_keras2_file_converts_bit_exactly, *boost::unit_test::timeout(200)) {
    typenet_test::ScratchDirectory dir;
    keras_h5::Options options;
    options.keras2 = true;
    const fs::path h5 = dir / "resnet50_notop.h5", out = dir / "resnet50.safetensors";
    const auto written = keras_h5::write_file<tn::zoo::ResNet50Base<>>(h5, options);
    BOOST_TEST(written.size() == 53u * 2 + 53u * 4);  // 53 convolutions with bias, 53 BatchNormalizations
    BOOST_TEST(written.count("conv2_block1_0_bn/moving_variance") == 1u);
#ifdef TYPENET_CONVERT_PATH
    const auto run = run_convert(dir.path(), "--model resnet50 " + quoted(h5) + " " + quoted(out));
    BOOST_TEST(run.status == 0, run.err);
    BOOST_TEST(has(run.out, "318 tensors, 23,587,712 parameters of resnet50"), run.out);
#else
    tn::io::convert_keras_weights<tn::zoo::ResNet50Base<>>(h5, out);
#endif
    check_converted(out, written);
}

BOOST_AUTO_TEST_CASE(mobilenetv2_keras3_legacy_names_convert_bit_exactly, *boost::unit_test::timeout(200)) {
    typenet_test::ScratchDirectory dir;
    keras_h5::Options options;
    options.keras3 = true;
    options.variable_length = true;
    const fs::path h5 = dir / "mobilenetv2.h5", out = dir / "mobilenetv2.safetensors";
    const auto written = keras_h5::write_file<tn::zoo::MobileNetV2Base<>>(h5, options);
    BOOST_TEST(written.size() == 52u + 52u * 4);  // 35 convolutions and 17 depthwise, no biases
    const std::size_t count = tn::io::convert_keras_weights<tn::zoo::MobileNetV2Base<>>(h5, out);
    BOOST_TEST(count == written.size());
    check_converted(out, written);
    BOOST_TEST(tn::io::read_safetensors_metadata(out).at("model") == "mobilenetv2_1.00_224");
}

BOOST_AUTO_TEST_CASE(a_file_of_another_backbone_is_refused_clearly, *boost::unit_test::timeout(200)) {
    typenet_test::ScratchDirectory dir;
    keras_h5::Options options;
    options.keras2 = true;
    const fs::path h5 = dir / "vgg16_notop.h5", out = dir / "out.safetensors";
    keras_h5::write_file<tn::zoo::VGG16Base<>>(h5, options);
    write_bytes(out, "previous contents");
    const std::string message =
        message_of<tn::io::WeightsMismatch>([&] { tn::io::convert_keras_weights<tn::zoo::ResNet50Base<>>(h5, out); });
    BOOST_TEST(has(message, h5.string()), message.substr(0, 400));
    BOOST_TEST(has(message, "do not fit model 'resnet50'"), message.substr(0, 400));
    BOOST_TEST(has(message, "it holds another network's weights (its first layer with weights is block1_conv1, the "
                            "model's is conv1_conv)"),
               message.substr(0, 400));
    BOOST_TEST(read_bytes(out) == "previous contents");
#ifdef TYPENET_CONVERT_PATH
    const auto run = run_convert(dir.path(), "--model mobilenetv2 " + quoted(h5) + " " + quoted(out));
    BOOST_TEST(run.status == 1);
    BOOST_TEST(has(run.err, "another network's weights (its first layer with weights is block1_conv1, the model's is "
                            "Conv1)"),
               run.err.substr(0, 400));
    BOOST_TEST(read_bytes(out) == "previous contents");
#endif
}

BOOST_AUTO_TEST_CASE(a_missing_moving_statistic_names_the_layer, *boost::unit_test::timeout(200)) {
    typenet_test::ScratchDirectory dir;
    keras_h5::Options options;
    options.keras2 = true;
    options.skip_weight = "block_5_expand_BN/moving_variance";
    const fs::path h5 = dir / "holes.h5", out = dir / "out.safetensors";
    keras_h5::write_file<tn::zoo::MobileNetV2Base<>>(h5, options);
    try {
        tn::io::convert_keras_weights<tn::zoo::MobileNetV2Base<>>(h5, out);
        BOOST_FAIL("a BatchNormalization without its moving variance was accepted");
    } catch (const tn::io::WeightsMismatch& error) {
        BOOST_TEST(error.problems().size() == 1u);
        BOOST_TEST(has(error.what(), "layer block_5_expand_BN: missing weight moving_variance (192,)"), error.what());
    }
    BOOST_TEST(!fs::exists(out));
}

BOOST_AUTO_TEST_SUITE_END()
