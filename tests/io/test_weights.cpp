// Model weights on disk: save -> load into a differently initialised model gives the
// same network, a file of another model is refused naming the layer and leaves the
// model as it was, and nested models load on their own.
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "support.hpp"
#include "typenet/io/weights.hpp"
#include "typenet/typenet.hpp"

namespace tn = typenet;
namespace io = typenet::io;
using io::testing::message_of;
using io::testing::read_bytes;
using io::testing::ScratchDirectory;
using io::testing::write_bytes;

namespace {

using Small = tn::Sequential<tn::Input<8, 8, 2>, tn::Conv2D<4, 3, tn::ReLU, tn::Same>, tn::MaxPooling2D<2>, tn::Flatten,
                             tn::Dense<3, tn::Softmax>>;
// Same layer names, wider convolution: every tensor exists, two shapes differ.
using Wider = tn::Sequential<tn::Input<8, 8, 2>, tn::Conv2D<8, 3, tn::ReLU, tn::Same>, tn::MaxPooling2D<2>, tn::Flatten,
                             tn::Dense<3, tn::Softmax>>;
// One more Dense: dense_1 changes shape, dense_2 is new.
using Deeper = tn::Sequential<tn::Input<8, 8, 2>, tn::Conv2D<4, 3, tn::ReLU, tn::Same>, tn::MaxPooling2D<2>, tn::Flatten,
                              tn::Dense<5, tn::ReLU>, tn::Dense<3, tn::Softmax>>;

using Backbone = tn::Model<"backbone", tn::Input<8, 8, 2>, tn::Conv2D<4, 3, tn::ReLU, tn::Same, "block1_conv1">,
                           tn::MaxPooling2D<2, "block1_pool">>;
using WithBackbone = tn::Sequential<tn::Input<8, 8, 2>, Backbone, tn::Flatten, tn::Dense<3, tn::Softmax>>;

// Every parameter's values, by path, as the model holds them.
template <class M>
std::map<std::string, std::vector<float>> parameters_of(const M& model) {
    std::map<std::string, std::vector<float>> values;
    model.for_each_parameter([&](std::string_view path, const auto& parameter, bool) {
        values[std::string(path) + "/" + std::string(parameter.name)] = parameter.values();
    });
    return values;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

template <class M>
std::vector<float> predict(M& model, std::size_t batch) {
    std::vector<float> x(batch * M::input_shape::size);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 37) % 101) / 50.0f - 1.0f;
    std::vector<float> y(batch * M::output_shape::size);
    model.forward(x.data(), y.data(), batch, tn::Mode::infer);
    return y;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_SUITE(weights)

BOOST_AUTO_TEST_CASE(save_then_load_into_a_differently_seeded_model_gives_the_same_network) {
    ScratchDirectory dir;
    Small trained{1};
    Small fresh{2};
    BOOST_TEST_REQUIRE((parameters_of(trained) != parameters_of(fresh)));  // the test means something
    BOOST_TEST_REQUIRE((predict(trained, 3) != predict(fresh, 3)));

    io::save_weights(trained, dir / "small.safetensors");
    io::load_weights(fresh, dir / "small.safetensors");
    const auto want = parameters_of(trained);
    const auto got = parameters_of(fresh);
    BOOST_TEST_REQUIRE(got.size() == want.size());
    for (const auto& [name, values] : want) BOOST_TEST(same_bits(got.at(name), values), name);
    BOOST_TEST(same_bits(predict(fresh, 3), predict(trained, 3)));
    BOOST_TEST((dir.entries() == std::set<std::string>{"small.safetensors"}));
}

BOOST_AUTO_TEST_CASE(file_names_tensors_by_layer_and_weight_in_keras_layouts) {
    ScratchDirectory dir;
    const Small model{3};
    io::save_weights(model, dir / "small.safetensors");
    const auto tensors = io::read_safetensors(dir / "small.safetensors");
    std::vector<std::string> names;
    for (const auto& tensor : tensors) names.push_back(tensor.name);
    BOOST_TEST((names == std::vector<std::string>{"conv2d_1/kernel", "conv2d_1/bias", "dense_1/kernel", "dense_1/bias"}));
    BOOST_TEST((tensors[0].shape == std::vector<std::size_t>{3, 3, 2, 4}));
    BOOST_TEST((tensors[2].shape == std::vector<std::size_t>{64, 3}));

    const auto metadata = io::read_safetensors_metadata(dir / "small.safetensors");
    BOOST_TEST(metadata.at("format") == "typenet");
    BOOST_TEST(metadata.at("model") == std::string(Small::name.view()));
    BOOST_TEST(metadata.at("layers") == "conv2d_1,max_pooling2d_1,flatten_1,dense_1");
    BOOST_TEST(metadata.at("param_count") == std::to_string(Small::param_count));
    std::size_t stored = 0;
    for (const auto& tensor : tensors) stored += tensor.values.size();
    BOOST_TEST(stored == Small::param_count);
}

BOOST_AUTO_TEST_CASE(extra_metadata_travels_with_the_weights_but_cannot_replace_typenets_own) {
    ScratchDirectory dir;
    const Small model{3};
    io::save_weights(model, dir / "small.safetensors", {{"preprocessing", "caffe"}, {"format", "not typenet"}});
    const auto metadata = io::read_safetensors_metadata(dir / "small.safetensors");
    BOOST_TEST(metadata.at("preprocessing") == "caffe");
    BOOST_TEST(metadata.at("format") == "typenet");
    Small loaded{9};
    io::load_weights(loaded, dir / "small.safetensors");  // extra entries do not disturb loading
    BOOST_TEST(parameters_of(loaded) == parameters_of(model));
}

BOOST_AUTO_TEST_CASE(shape_mismatch_names_the_tensor_and_both_shapes_and_changes_nothing) {
    ScratchDirectory dir;
    io::save_weights(Wider{1}, dir / "wider.safetensors");
    Small model{5};
    const auto before = parameters_of(model);
    const auto message = message_of<io::WeightsMismatch>([&] { io::load_weights(model, dir / "wider.safetensors"); });
    BOOST_TEST(contains(message, "wider.safetensors"), message);
    BOOST_TEST(contains(message, "conv2d_1/kernel: file has (3, 3, 2, 8), model expects (3, 3, 2, 4)"), message);
    BOOST_TEST(contains(message, "conv2d_1/bias: file has (8,), model expects (4,)"), message);
    BOOST_TEST(contains(message, "dense_1/kernel: file has (128, 3), model expects (64, 3)"), message);
    BOOST_TEST((parameters_of(model) == before));  // dense_1/bias matched, but was not written either
}

BOOST_AUTO_TEST_CASE(missing_tensors_name_the_layer_and_weight_and_what_the_file_has) {
    ScratchDirectory dir;
    io::save_weights(Small{1}, dir / "small.safetensors");
    Deeper model{5};
    const auto before = parameters_of(model);
    try {
        io::load_weights(model, dir / "small.safetensors");
        BOOST_FAIL("no exception");
    } catch (const io::WeightsMismatch& error) {
        const std::string message = error.what();
        BOOST_TEST(contains(message, "missing tensor dense_2/kernel (layer dense_2, weight kernel)"), message);
        BOOST_TEST(contains(message, "missing tensor dense_2/bias (layer dense_2, weight bias)"), message);
        BOOST_TEST(contains(message, "dense_1/kernel: file has (64, 3), model expects (64, 5)"), message);
        BOOST_TEST(contains(message, "the file holds: conv2d_1/kernel, conv2d_1/bias, dense_1/kernel, dense_1/bias"),
                   message);
        BOOST_TEST(error.problems().size() == 4u);  // 2 missing, 2 shapes (dense_1 kernel and bias)
    }
    BOOST_TEST((parameters_of(model) == before));
}

BOOST_AUTO_TEST_CASE(extra_tensors_mean_a_file_of_another_model) {
    ScratchDirectory dir;
    io::save_weights(Deeper{1}, dir / "deeper.safetensors");
    Small model{5};
    const auto before = parameters_of(model);
    const auto message = message_of<io::WeightsMismatch>([&] { io::load_weights(model, dir / "deeper.safetensors"); });
    BOOST_TEST(contains(message, "unexpected tensors (not in this model): dense_2/kernel, dense_2/bias"), message);
    BOOST_TEST((parameters_of(model) == before));
}

BOOST_AUTO_TEST_CASE(a_damaged_file_is_a_format_error_and_changes_nothing) {
    ScratchDirectory dir;
    io::save_weights(Small{1}, dir / "small.safetensors");
    const std::string bytes = read_bytes(dir / "small.safetensors");
    write_bytes(dir / "cut.safetensors", bytes.substr(0, bytes.size() - 10));
    Small model{5};
    const auto before = parameters_of(model);
    const auto message = message_of<io::FormatError>([&] { io::load_weights(model, dir / "cut.safetensors"); });
    BOOST_TEST(contains(message, "cut.safetensors"), message);
    BOOST_TEST(contains(message, "dense_1/bias"), message);  // the last tensor is the one cut
    BOOST_TEST((parameters_of(model) == before));
}

BOOST_AUTO_TEST_CASE(saving_over_a_file_replaces_it_whole) {
    ScratchDirectory dir;
    io::save_weights(Small{1}, dir / "w.safetensors");
    io::save_weights(Small{2}, dir / "w.safetensors");
    Small loaded{9};
    io::load_weights(loaded, dir / "w.safetensors");
    BOOST_TEST((parameters_of(loaded) == parameters_of(Small{2})));
    BOOST_TEST((dir.entries() == std::set<std::string>{"w.safetensors"}));
}

BOOST_AUTO_TEST_CASE(nested_model_paths_and_loading_a_backbone_on_its_own) {
    ScratchDirectory dir;
    WithBackbone full{1};
    io::save_weights(full, dir / "full.safetensors");
    const auto tensors = io::read_safetensors(dir / "full.safetensors");
    BOOST_TEST(tensors.front().name == "backbone/block1_conv1/kernel");
    BOOST_TEST(tensors.back().name == "dense_1/bias");

    // A standalone backbone file goes into the nested model, which is a model itself.
    const Backbone backbone{7};
    io::save_weights(backbone, dir / "backbone.safetensors");
    BOOST_TEST(io::read_safetensors(dir / "backbone.safetensors").front().name == "block1_conv1/kernel");
    const auto head_before = parameters_of(full).at("dense_1/kernel");
    io::load_weights(full.get<"backbone">(), dir / "backbone.safetensors");
    const auto loaded = parameters_of(full);
    const auto want = parameters_of(backbone);
    BOOST_TEST(same_bits(loaded.at("backbone/block1_conv1/kernel"), want.at("block1_conv1/kernel")));
    BOOST_TEST(same_bits(loaded.at("backbone/block1_conv1/bias"), want.at("block1_conv1/bias")));
    BOOST_TEST(same_bits(loaded.at("dense_1/kernel"), head_before));  // the head is untouched

    // Loaded into the whole model instead, the error says how to do it right.
    WithBackbone other{2};
    const auto before = parameters_of(other);
    const auto message = message_of<io::WeightsMismatch>([&] { io::load_weights(other, dir / "backbone.safetensors"); });
    BOOST_TEST(contains(message, "missing tensor backbone/block1_conv1/kernel (layer backbone/block1_conv1, weight kernel)"),
               message);
    BOOST_TEST(contains(message, "unexpected tensors (not in this model): block1_conv1/kernel, block1_conv1/bias"), message);
    BOOST_TEST(contains(message, "load_weights(model.get<\"backbone\">(), path)"), message);
    BOOST_TEST((parameters_of(other) == before));

    // And the whole model's file into the backbone alone: told it is a bigger model.
    Backbone alone{3};
    const auto bigger = message_of<io::WeightsMismatch>([&] { io::load_weights(alone, dir / "full.safetensors"); });
    BOOST_TEST(contains(bigger, "sit under 'backbone/'"), bigger);
}

BOOST_AUTO_TEST_SUITE_END()
