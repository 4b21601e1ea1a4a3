// The built typenet-features: its output's shape and dtype, and its refusals (a broken image,
// named; weights of another model; a size it is not built for; unknown options), each leaving
// an existing OUT.npy as it was. Its values against Keras: test_backbone_parity.cpp (the same
// pipeline on Keras-made networks) and tests/fixtures/check_backbone_parity.py (full size).
#include <boost/test/unit_test.hpp>

#include "files.hpp"
#include "scratch_directory.hpp"

#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "typenet/io/npy.hpp"
#include "typenet/io/safetensors.hpp"
#include "typenet/io/weights.hpp"
#include "typenet/zoo/mobilenet.hpp"

#ifdef TYPENET_FEATURES_PATH
namespace tn = typenet;
namespace fs = std::filesystem;

namespace {

struct Run {
    int status;
    std::string out, err;
};
Run run_features(const fs::path& dir, const std::string& arguments) {
    const fs::path out = dir / "stdout.txt", err = dir / "stderr.txt";
    const std::string command = std::string("'") + TYPENET_FEATURES_PATH + "' " + arguments + " >'" + out.string() +
                                "' 2>'" + err.string() + "'";
    const int raw = std::system(command.c_str());
    return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, typenet_test::read_bytes(out), typenet_test::read_bytes(err)};
}
std::string q(const fs::path& p) { return "'" + p.string() + "'"; }
bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A folder with the three committed test images, and MobileNetV2 weights (seeded) saved by typenet.
struct Setup {
    typenet_test::ScratchDirectory dir;
    fs::path images = dir / "images", weights = dir / "mobilenetv2.safetensors", out = dir / "features.npy";
    Setup() {
        fs::create_directories(images);
        for (const char* name : {"img_0.png", "img_1.png", "img_2.png"})
            fs::copy_file(fs::path(TYPENET_FIXTURES_DIR) / "images" / "backbone" / name, images / name);
        auto model = std::make_unique<tn::zoo::MobileNetV2Base<224, 224>>(3);
        tn::io::save_weights(*model, weights);
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(features_tool)

BOOST_AUTO_TEST_CASE(writes_float32_n_h_w_c_in_name_order) {
    Setup s;
    const Run run = run_features(s.dir.path(), "--model mobilenetv2 --weights " + q(s.weights) + " --size 150 " +
                                                   q(s.images) + " " + q(s.out));
    BOOST_TEST_REQUIRE(run.status == 0, run.err);
    BOOST_TEST(has(run.out, "float32 (3, 5, 5, 1280)"), run.out);
    BOOST_TEST(has(run.out, "tf preprocessing, nearest resize"), run.out);
    const tn::io::NpyArray features = tn::io::read_npy(s.out);
    BOOST_TEST((features.shape == std::vector<std::size_t>{3, 5, 5, 1280}));
    bool finite = true, some_nonzero = false;
    for (float v : features.values) {
        finite = finite && std::isfinite(v);
        some_nonzero = some_nonzero || v != 0.0f;
    }
    BOOST_TEST(finite);
    BOOST_TEST(some_nonzero);
    // The same images in another order of creation give the same rows: sorted by name.
    const fs::path again = s.dir / "again.npy";
    fs::rename(s.images / "img_0.png", s.images / "img_9.png");
    BOOST_TEST_REQUIRE(run_features(s.dir.path(), "--model mobilenetv2 --weights " + q(s.weights) + " --size 150 " +
                                                      q(s.images) + " " + q(again))
                           .status == 0);
    const tn::io::NpyArray moved = tn::io::read_npy(again);
    const std::size_t row = 5 * 5 * 1280;
    BOOST_TEST((std::vector<float>(moved.values.begin(), moved.values.begin() + row) ==
                std::vector<float>(features.values.begin() + row, features.values.begin() + 2 * row)));
    BOOST_TEST((std::vector<float>(moved.values.begin() + 2 * row, moved.values.end()) ==
                std::vector<float>(features.values.begin(), features.values.begin() + row)));
}

BOOST_AUTO_TEST_CASE(a_broken_image_is_named_and_nothing_is_written) {
    Setup s;
    typenet_test::write_bytes(s.images / "img_1b.jpg", "\xff\xd8\xff\xe0 not really a jpeg");
    typenet_test::write_bytes(s.out, "previous contents");
    const Run run = run_features(s.dir.path(), "--model mobilenetv2 --weights " + q(s.weights) + " --size 224 " +
                                                   q(s.images) + " " + q(s.out));
    BOOST_TEST(run.status == 1);
    BOOST_TEST(has(run.err, "img_1b.jpg"), run.err);
    BOOST_TEST(typenet_test::read_bytes(s.out) == "previous contents");
}

BOOST_AUTO_TEST_CASE(weights_of_another_model_are_refused) {
    Setup s;
    const fs::path vgg = s.dir / "vgg16.safetensors";
    tn::io::write_safetensors(vgg, {{"block1_conv1/kernel", {3, 3, 3, 64}, std::vector<float>(3 * 3 * 3 * 64)}},
                              {{"format", "typenet"}, {"model", "vgg16"}});
    const Run run =
        run_features(s.dir.path(), "--model mobilenetv2 --weights " + q(vgg) + " --size 224 " + q(s.images) + " " + q(s.out));
    BOOST_TEST(run.status == 1);
    BOOST_TEST(has(run.err, "these are the weights of model 'vgg16', not of mobilenetv2"), run.err);
    BOOST_TEST(!fs::exists(s.out));
    // Sizes and models the tool is not built for: usage errors (status 2).
    const Run size = run_features(s.dir.path(), "--model mobilenetv2 --weights " + q(s.weights) + " --size 200 " +
                                                    q(s.images) + " " + q(s.out));
    BOOST_TEST(size.status == 2);
    BOOST_TEST(has(size.err, "--size 200: the backbones are built here for 150x150 or 224x224 inputs"), size.err);
    const Run model = run_features(s.dir.path(), "--model resnet18 --weights " + q(s.weights) + " --size 224 " +
                                                     q(s.images) + " " + q(s.out));
    BOOST_TEST(model.status == 2);
    BOOST_TEST(has(model.err, "unknown model 'resnet18'"), model.err);
    BOOST_TEST(!fs::exists(s.out));
}

BOOST_AUTO_TEST_SUITE_END()
#endif
