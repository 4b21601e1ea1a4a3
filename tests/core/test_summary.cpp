// model.summary() reproduces Keras's table character for character. The golden
// files were made by tests/fixtures/make_keras_fixtures.py from tf.keras models in
// the Keras 2.2 print format the book shows; none of them comes from typenet.
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include "typenet/typenet.hpp"
#include "chapter5/models.hpp"  // examples/: the book's models
#include "typenet/zoo/vgg.hpp"

namespace tn = typenet;

namespace {
std::string golden(const std::string& name) {
    std::ifstream in(std::string(TYPENET_FIXTURES_DIR) + "/summaries/" + name);
    BOOST_REQUIRE_MESSAGE(in, "missing golden file " << name);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Compares line by line, so a failure says which line differs.
void check_summary(const std::string& got, const std::string& file) {
    const std::string want = golden(file);
    std::istringstream a(got), b(want);
    std::string la, lb;
    for (int line = 1; std::getline(b, lb); ++line) {
        BOOST_REQUIRE_MESSAGE(std::getline(a, la), file << ": summary ends before line " << line);
        BOOST_TEST(la == lb, file << " line " << line);
    }
    BOOST_TEST(!std::getline(a, la), file << ": summary has extra lines");
}
}  // namespace

BOOST_AUTO_TEST_SUITE(summaries)

BOOST_AUTO_TEST_CASE(model_a_basic_cnn) {
    chapter5::BasicCNN<150, 150, 3> model;
    check_summary(tn::summary_string(model), "model_a_basic_cnn.txt");
}

BOOST_AUTO_TEST_CASE(model_b_cnn_with_dropout) {
    chapter5::RegularizedCNN<150, 150, 3> model;
    check_summary(tn::summary_string(model), "model_b_cnn_dropout.txt");
}

BOOST_AUTO_TEST_CASE(vgg16_base_at_150) {
    tn::zoo::VGG16Base<150, 150> model;
    check_summary(tn::summary_string(model), "vgg16_base_150.txt");
}

BOOST_AUTO_TEST_CASE(model_d_bottleneck_head) {
    chapter5::BottleneckHead<8192> model;
    check_summary(tn::summary_string(model), "model_d_bottleneck_head.txt");
}

BOOST_AUTO_TEST_CASE(model_e_frozen_vgg16) {
    chapter5::VGGTransfer<150, 150> model;
    model.get<"vgg16">().set_trainable(false);
    check_summary(tn::summary_string(model), "model_e_vgg16_frozen.txt");
}

BOOST_AUTO_TEST_CASE(model_f_fine_tuning_blocks_4_and_5) {
    chapter5::VGGTransfer<150, 150> model;
    model.set_trainable_from("block4_conv1");
    check_summary(tn::summary_string(model), "model_f_vgg16_finetune.txt");
    BOOST_TEST(model.trainable_param_count() == 17'437'185u);
}

BOOST_AUTO_TEST_CASE(long_names_are_cut_like_keras) {
    // Keras's print_row: a field reaching its column stop loses its last character.
    const std::string row = tn::detail::summary_row({"max_pooling2d_1 (MaxPooling2D)", "(None, 74, 74, 16)", "0"},
                                                    {29, 55, 65});
    BOOST_TEST(row == "max_pooling2d_1 (MaxPooling2 (None, 74, 74, 16)        0         ");
    BOOST_TEST(tn::thousands(19'024'513) == "19,024,513");
    BOOST_TEST(tn::thousands(0) == "0");
    BOOST_TEST(tn::thousands(999) == "999");
    BOOST_TEST(tn::thousands(1'000) == "1,000");
}

BOOST_AUTO_TEST_SUITE_END()
