// fit / evaluate / predict: learning on small problems, History against evaluate(),
// reproducibility from seeds, frozen layers (untouched, and never reached by backward),
// Keras's fine-tuning flags, the progress lines, and clear errors for bad data.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support.hpp"
#include "typenet/train/predict.hpp"
#include "typenet/train/trainer.hpp"
#include "typenet/typenet.hpp"

namespace tn = typenet;
using train_test::make_blobs;
using train_test::weights_of;

namespace {

// A layer that passes its input through and counts how often backward reaches it:
// evidence that frozen prefixes cost no backward work, without timing anything.
std::size_t spy_backward_calls = 0;

template <class In, class Device, tn::FixedString Name>
struct SpyLayer : tn::LayerBase<In, In, Name, "Spy", 0>, tn::NoParameters<Device> {
    static constexpr bool ok = true;
    void forward(const float* x, float* y, std::size_t batch, tn::Mode) { tn::Kernels<Device>::copy(x, y, batch * In::size); }
    void backward(const float*, const float*, const float* dy, float* dx, std::size_t batch, bool) {
        ++spy_backward_calls;
        if (dx != nullptr) tn::Kernels<Device>::copy(dy, dx, batch * In::size);
    }
};
struct Spy {
    static constexpr tn::FixedString auto_prefix = "spy";
    static constexpr tn::FixedString explicit_name = "";
    template <class In, class Device, tn::FixedString Name>
    using bind = SpyLayer<In, Device, Name>;
};

using BlobNet = tn::Sequential<tn::Input<4>, tn::Dense<8, tn::ReLU>, tn::Dense<1, tn::Sigmoid>>;

// Images whose class is which half is brighter: a conv net learns it in a few steps.
struct Images {
    xt::xtensor<float, 4> x;
    xt::xtensor<float, 1> y;
};
Images make_images(std::size_t count, std::uint64_t seed) {
    tn::Random rng(seed);
    Images data{xt::xtensor<float, 4>::from_shape({count, 6, 6, 1}), xt::xtensor<float, 1>::from_shape({count})};
    for (std::size_t i = 0; i < count; ++i) {
        const bool top = i % 2 == 0;
        data.y(i) = top ? 1.0f : 0.0f;
        for (std::size_t r = 0; r < 6; ++r)
            for (std::size_t c = 0; c < 6; ++c)
                data.x(i, r, c, 0) = rng.uniform(0.0f, 0.5f) + ((r < 3) == top ? 0.5f : 0.0f);
    }
    return data;
}

bool same_weights(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) { return a == b; }

template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "no exception";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fit)

BOOST_AUTO_TEST_CASE(learns_and_history_agrees_with_evaluate) {
    const auto train = make_blobs(512, 4, 1), val = make_blobs(256, 4, 2);
    BlobNet model{3};
    auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::RMSprop{.learning_rate = 1e-2f});
    tn::ArraySource val_source(val.x, val.y);
    const tn::History history =
        trainer.fit(train.x, train.y, {.epochs = 8, .batch_size = 32, .validation = &val_source, .verbose = 0});
    BOOST_TEST(history.epochs() == 8u);
    BOOST_TEST(history.val_loss.size() == 8u);
    BOOST_TEST(history.epoch.back() == 7u);
    BOOST_TEST(history.loss.back() < history.loss.front());
    BOOST_TEST(history.accuracy.back() > 0.9);
    BOOST_TEST(history.val_accuracy.back() > 0.9);
    BOOST_TEST(history.samples.front() == 512u);
    BOOST_TEST(history.images_per_second() > 0.0);
    BOOST_TEST(trainer.iterations() == 8u * 16u);
    // The last epoch's validation numbers are exactly what evaluate() gives now.
    const tn::Evaluation again = trainer.evaluate(val_source, 32);
    BOOST_TEST(again.loss == history.val_loss.back());
    BOOST_TEST(again.accuracy == history.val_accuracy.back());
    BOOST_TEST(again.samples == 256u);
    // And from arrays directly.
    BOOST_TEST(trainer.evaluate(val.x, val.y, 32).loss == again.loss);
}

BOOST_AUTO_TEST_CASE(categorical_and_sparse_categorical_training) {
    // Three classes: the class is which third of the input vector holds the signal.
    constexpr std::size_t n = 300;
    tn::Random rng(5);
    xt::xtensor<float, 2> x = xt::xtensor<float, 2>::from_shape({n, 6});
    xt::xtensor<float, 1> label = xt::xtensor<float, 1>::from_shape({n});
    xt::xtensor<float, 2> onehot = xt::zeros<float>({n, std::size_t{3}});
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t k = i % 3;
        label(i) = static_cast<float>(k);
        onehot(i, k) = 1.0f;
        for (std::size_t d = 0; d < 6; ++d) x(i, d) = rng.uniform(-0.5f, 0.5f) + (d / 2 == k ? 1.0f : 0.0f);
    }
    using Net = tn::Sequential<tn::Input<6>, tn::Dense<16, tn::ReLU>, tn::Dense<3, tn::Softmax>>;
    {
        Net model{1};
        auto trainer = tn::compile(model, tn::SparseCategoricalCrossentropy{}, tn::Adam{.learning_rate = 1e-2f});
        BOOST_TEST(trainer.fused_loss());
        const auto history = trainer.fit(x, label, {.epochs = 10, .batch_size = 30, .verbose = 0});
        BOOST_TEST(history.accuracy.back() > 0.95);
    }
    {
        Net model{1};
        auto trainer = tn::compile(model, tn::CategoricalCrossentropy{}, tn::SGD{.learning_rate = 0.1f, .momentum = 0.9f});
        const auto history = trainer.fit(x, onehot, {.epochs = 10, .batch_size = 30, .verbose = 0});
        BOOST_TEST(history.accuracy.back() > 0.95);
    }
    {  // raw scores and from_logits
        using Logits = tn::Sequential<tn::Input<6>, tn::Dense<16, tn::ReLU>, tn::Dense<3>>;
        Logits model{1};
        auto trainer = tn::compile(model, tn::SparseCategoricalCrossentropy{.from_logits = true}, tn::Adam{.learning_rate = 1e-2f});
        const auto history = trainer.fit(x, label, {.epochs = 10, .batch_size = 30, .verbose = 0});
        BOOST_TEST(history.accuracy.back() > 0.95);
    }
}

BOOST_AUTO_TEST_CASE(same_seed_same_weights) {
    using Net = tn::Sequential<tn::Input<4>, tn::Dense<16, tn::ReLU>, tn::Dropout<0.3f>, tn::Dense<1, tn::Sigmoid>>;
    const auto data = make_blobs(256, 4, 9);
    auto run = [&](std::uint64_t shuffle_seed) {
        Net model{21};
        auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::Adam{});
        trainer.fit(data.x, data.y, {.epochs = 3, .batch_size = 16, .shuffle = true, .seed = shuffle_seed, .verbose = 0});
        return weights_of(model);
    };
    const auto first = run(4), second = run(4), other = run(5);
    BOOST_TEST(same_weights(first, second));   // bit for bit
    BOOST_TEST(!same_weights(first, other));   // the shuffle seed matters
}

BOOST_AUTO_TEST_CASE(frozen_layers_are_untouched_and_cost_no_backward) {
    using Net = tn::Sequential<tn::Input<6, 6, 1>, tn::Conv2D<4, 3, tn::ReLU>, Spy, tn::Conv2D<4, 3, tn::ReLU>, tn::Flatten,
                               tn::Dense<1, tn::Sigmoid>>;
    const auto data = make_images(64, 3);
    Net model{2};
    model.set_trainable("conv2d_1", false);
    BOOST_TEST(model.first_learning_layer() == 2u);
    const auto frozen_before = model.layer<0>().kernel().values();
    const auto learning_before = model.layer<2>().kernel().values();
    auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::RMSprop{.learning_rate = 1e-2f});
    spy_backward_calls = 0;
    trainer.fit(data.x, data.y, {.epochs = 2, .batch_size = 16, .verbose = 0});
    BOOST_TEST(spy_backward_calls == 0u);                                   // backward stopped at conv2d_2
    BOOST_TEST(model.layer<0>().kernel().values() == frozen_before);        // no update
    for (float g : model.layer<0>().kernel().gradients()) BOOST_TEST(g == 0.0f);  // no gradient ever computed
    BOOST_TEST(model.layer<2>().kernel().values() != learning_before);

    // Unfrozen, the same fit reaches the spy on every step.
    model.set_trainable(true);
    auto again = tn::compile(model, tn::BinaryCrossentropy{}, tn::RMSprop{.learning_rate = 1e-2f});
    again.fit(data.x, data.y, {.epochs = 1, .batch_size = 16, .verbose = 0});
    BOOST_TEST(spy_backward_calls == 4u);
    BOOST_TEST(model.layer<0>().kernel().values() != frozen_before);
}

BOOST_AUTO_TEST_CASE(frozen_nested_backbone) {
    using Backbone = tn::Model<"backbone", tn::Input<6, 6, 1>, tn::Conv2D<4, 3, tn::ReLU, tn::Valid, "bb_conv">, Spy>;
    using Net = tn::Sequential<tn::Input<6, 6, 1>, Backbone, tn::Flatten, tn::Dense<8, tn::ReLU>, tn::Dense<1, tn::Sigmoid>>;
    const auto data = make_images(64, 4);
    Net model{3};
    model.layer<0>().set_trainable(false);  // Keras: conv_base.trainable = False
    // Keras's summary split: backbone 40 frozen; head 4*4*4*8+8 = 520 and 8+1 = 9 trainable.
    BOOST_TEST(model.trainable_param_count() == 529u);
    BOOST_TEST(model.non_trainable_param_count() == 40u);
    const auto backbone_before = model.get<"bb_conv">().kernel().values();
    auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::RMSprop{.learning_rate = 1e-2f});
    spy_backward_calls = 0;
    const auto history = trainer.fit(data.x, data.y, {.epochs = 3, .batch_size = 16, .verbose = 0});
    BOOST_TEST(spy_backward_calls == 0u);
    BOOST_TEST(model.get<"bb_conv">().kernel().values() == backbone_before);
    BOOST_TEST(history.accuracy.back() > 0.8);  // the head learns on frozen features
}

BOOST_AUTO_TEST_CASE(fine_tuning_from_a_named_layer) {
    using Net = tn::Sequential<tn::Input<8, 8, 1>, tn::Conv2D<4, 3, tn::ReLU, tn::Same, "block1_conv1">,
                               tn::MaxPooling2D<2, "block1_pool">, tn::Conv2D<8, 3, tn::ReLU, tn::Same, "block2_conv1">,
                               tn::Flatten, tn::Dense<1, tn::Sigmoid>>;
    Net model{4};
    model.set_trainable_from("block2_conv1");
    // block1_conv1: 3*3*1*4 + 4 = 40 frozen; block2_conv1: 3*3*4*8 + 8 = 296 and dense: 4*4*8 + 1 = 129 trainable.
    BOOST_TEST(model.trainable_param_count() == 425u);
    std::ostringstream summary;
    model.summary(summary);
    BOOST_TEST(summary.str().find("Trainable params: 425") != std::string::npos);
    BOOST_TEST(summary.str().find("Non-trainable params: 40") != std::string::npos);
    std::ostringstream table;
    model.print_trainable(table);
    BOOST_TEST(table.str().find("block1_conv1  False") != std::string::npos);

    tn::Random rng(8);
    xt::xtensor<float, 4> x = xt::xtensor<float, 4>::from_shape({32, 8, 8, 1});
    for (auto& v : x) v = rng.uniform(0.0f, 1.0f);
    xt::xtensor<float, 1> y = xt::xtensor<float, 1>::from_shape({32});
    for (std::size_t i = 0; i < 32; ++i) y(i) = static_cast<float>(i % 2);
    const auto block1 = model.get<"block1_conv1">().kernel().values();
    const auto block2 = model.get<"block2_conv1">().kernel().values();
    auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::RMSprop{.learning_rate = 1e-3f});
    trainer.fit(x, y, {.epochs = 1, .batch_size = 8, .verbose = 0});
    BOOST_TEST(model.get<"block1_conv1">().kernel().values() == block1);
    BOOST_TEST(model.get<"block2_conv1">().kernel().values() != block2);
}

BOOST_AUTO_TEST_CASE(predict_and_predict_classes) {
    using Net = tn::Sequential<tn::Input<1>, tn::Dense<1, tn::Sigmoid>>;
    Net model;
    model.layer<0>().kernel().set_values({1.0f});
    model.layer<0>().bias().set_values({0.0f});
    xt::xtensor<float, 2> x = {{0.0f}, {1e-3f}, {-1.0f}, {2.0f}, {-1e-3f}};
    const auto p = tn::predict(model, x, 2);
    BOOST_TEST(p.shape()[0] == 5u);
    BOOST_TEST(p.shape()[1] == 1u);
    BOOST_TEST(p(0, 0) == 0.5f);
    BOOST_TEST(std::abs(p(3, 0) - 1.0f / (1.0f + std::exp(-2.0f))) < 1e-6f);
    const std::vector<int> classes = tn::predict_classes(model, x, 2);
    BOOST_TEST(classes == (std::vector<int>{0, 1, 0, 1, 0}), boost::test_tools::per_element());  // p > 0.5
    // From a source, the same numbers in the same order.
    xt::xtensor<float, 1> labels = xt::zeros<float>({std::size_t{5}});
    tn::ArraySource source(x, labels);
    BOOST_TEST(tn::predict(model, source, 3) == p);
    BOOST_TEST(tn::predict_classes(model, source, 3) == classes, boost::test_tools::per_element());

    // Several outputs: the index of the largest, the first of equals.
    using Three = tn::Sequential<tn::Input<3>, tn::Dense<3, tn::Softmax>>;
    Three three;
    three.layer<0>().kernel().set_values({1, 0, 0, 0, 1, 0, 0, 0, 1});  // identity: softmax(x)
    three.layer<0>().bias().set_values({0, 0, 0});
    xt::xtensor<float, 2> scores = {{0.1f, 0.7f, 0.2f}, {0.4f, 0.4f, 0.2f}, {0.0f, 0.0f, 1.0f}};
    BOOST_TEST(tn::predict_classes(three, scores) == (std::vector<int>{1, 0, 2}), boost::test_tools::per_element());
    const auto softmax = tn::predict(three, scores);
    BOOST_TEST(std::abs(softmax(0, 0) + softmax(0, 1) + softmax(0, 2) - 1.0f) < 1e-6f);
}

BOOST_AUTO_TEST_CASE(progress_lines_as_keras_prints_them) {
    const auto train = make_blobs(100, 4, 1), val = make_blobs(40, 4, 2);
    tn::ArraySource val_source(val.x, val.y);
    BlobNet model;
    auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::RMSprop{});
    std::ostringstream out;
    trainer.fit(train.x, train.y, {.epochs = 2, .batch_size = 32, .validation = &val_source, .verbose = 1, .out = &out});
    // A string stream is not a terminal: one finished line per epoch, no carriage returns.
    const std::regex epoch_line(
        R"(Epoch 2/2\n4/4 \[==============================\] - \d+s \d+(us|ms|s)/step - loss: \d\.\d{4} - accuracy: \d\.\d{4} - val_loss: \d\.\d{4} - val_accuracy: \d\.\d{4}\n)");
    BOOST_TEST(std::regex_search(out.str(), epoch_line), out.str());
    BOOST_TEST(out.str().starts_with("Epoch 1/2\n4/4 ["));
    BOOST_TEST(out.str().find('\r') == std::string::npos);
    BOOST_TEST(out.str().find("Training throughput: ") != std::string::npos);
    BOOST_TEST(out.str().find("images/s") != std::string::npos);

    std::ostringstream quiet;
    trainer.fit(train.x, train.y, {.epochs = 1, .verbose = 0, .out = &quiet});
    BOOST_TEST(quiet.str().empty());
    std::ostringstream brief;
    trainer.fit(train.x, train.y, {.epochs = 1, .verbose = 2, .out = &brief});
    BOOST_TEST(std::regex_search(brief.str(), std::regex(R"(Epoch 1/1\n - \d+s - loss: \d\.\d{4} - accuracy: \d\.\d{4}\n)")),
               brief.str());
}

BOOST_AUTO_TEST_CASE(progress_bar_redraws_in_place_on_a_terminal) {
    std::ostringstream out;
    tn::ProgressBar bar(out, 1, true);  // as if the stream were a terminal
    bar.start_epoch(2, 5, 10);
    bar.update(3, 0.5, 0.25);
    tn::EpochLogs logs;
    logs.loss = 0.125;
    logs.accuracy = 0.0005;  // tiny values switch to scientific notation, as Keras
    bar.finish(logs, 10);
    const std::string text = out.str();
    BOOST_TEST(text.starts_with("Epoch 3/5\n\r 3/10 [========>.....................] - ETA: "), text);
    BOOST_TEST(text.find(" - loss: 0.5000 - accuracy: 0.2500") != std::string::npos, text);
    BOOST_TEST(text.find("\r10/10 [==============================] - 0s ") != std::string::npos, text);
    BOOST_TEST(text.find(" - loss: 0.1250 - accuracy: 5.0000e-04") != std::string::npos, text);
    BOOST_TEST(text.ends_with("\n"));
}

BOOST_AUTO_TEST_CASE(bad_data_is_reported_clearly) {
    using Net = tn::Sequential<tn::Input<6>, tn::Dense<3, tn::Softmax>>;
    Net model;
    auto sparse = tn::compile(model, tn::SparseCategoricalCrossentropy{}, tn::Adam{});
    xt::xtensor<float, 2> x = xt::zeros<float>({std::size_t{8}, std::size_t{6}});
    xt::xtensor<float, 2> onehot = xt::zeros<float>({std::size_t{8}, std::size_t{3}});
    const std::string one_hot_message = error_of([&] { sparse.fit(x, onehot, {.verbose = 0}); });
    BOOST_TEST(one_hot_message.find("one-hot") != std::string::npos, one_hot_message);
    BOOST_TEST(one_hot_message.find("sparse_categorical_crossentropy") != std::string::npos);

    xt::xtensor<float, 2> wide = xt::zeros<float>({std::size_t{8}, std::size_t{7}});
    xt::xtensor<float, 1> labels = xt::zeros<float>({std::size_t{8}});
    const std::string shape_message = error_of([&] { sparse.fit(wide, labels, {.verbose = 0}); });
    BOOST_TEST(shape_message.find("samples of 7 floats") != std::string::npos, shape_message);
    BOOST_TEST(shape_message.find("(None, 6)") != std::string::npos);

    labels(5) = 3.0f;  // not a class of a 3-way softmax
    const std::string label_message =
        error_of([&] { sparse.fit(x, labels, {.batch_size = 4, .shuffle = false, .verbose = 0}); });
    BOOST_TEST(label_message.find("epoch 1, batch 2") != std::string::npos, label_message);
    BOOST_TEST(label_message.find("[0, 3)") != std::string::npos);
    BOOST_TEST(sparse.iterations() == 1u);  // batch 1 trained, batch 2 refused before its update

    BOOST_CHECK_THROW(tn::compile(model, tn::BinaryCrossentropy{.from_logits = true}, tn::Adam{}), std::invalid_argument);
    BOOST_CHECK_THROW(tn::compile(model, tn::BinaryCrossentropy{}, tn::Adam{.learning_rate = -1.0f}), std::invalid_argument);
}

// FitOptions::reduction_chunk in one process (its split-invariance across ranks is
// mpi_free_run_parity's): one chunk per batch is the ordinary step bit for bit; smaller
// chunks change only the order of the gradient sums, so the weights stay within rounding,
// which they would not if a chunk drew its own Dropout masks or scaled its loss by itself.
BOOST_AUTO_TEST_CASE(reduction_chunk_changes_only_the_order_of_the_sums) {
    using Net = tn::Sequential<tn::Input<4>, tn::Dense<16, tn::ReLU>, tn::Dropout<0.3f>, tn::Dense<1, tn::Sigmoid>>;
    const auto data = make_blobs(200, 4, 9);  // batches of 16, the last one 8
    auto run = [&](std::size_t chunk) {
        Net model{21};
        auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::SGD{.learning_rate = 0.05f});
        trainer.fit(data.x, data.y, {.epochs = 3, .batch_size = 16, .seed = 4, .verbose = 0, .reduction_chunk = chunk});
        return weights_of(model);
    };
    const auto plain = run(0);
    BOOST_TEST(same_weights(plain, run(16)));  // one chunk: the ordinary step
    BOOST_TEST(same_weights(plain, run(64)));
    for (std::size_t chunk : {1u, 3u, 5u}) {
        const auto chunked = run(chunk);
        double worst = 0.0;
        for (std::size_t t = 0; t < plain.size(); ++t) {
            double largest = 0.0, diff = 0.0;
            for (std::size_t i = 0; i < plain[t].size(); ++i) {
                largest = std::max(largest, static_cast<double>(std::abs(plain[t][i])));
                diff = std::max(diff, static_cast<double>(std::abs(plain[t][i] - chunked[t][i])));
            }
            worst = std::max(worst, diff / largest);
        }
        BOOST_TEST_MESSAGE("reduction_chunk " << chunk << ": worst relative difference " << worst);
        BOOST_TEST(worst < 1e-5, "reduction_chunk " << chunk << ": " << worst);
    }

    using Normalised = tn::Sequential<tn::Input<4>, tn::Dense<8>, tn::BatchNormalization<>, tn::Dense<1, tn::Sigmoid>>;
    Normalised normalised{3};
    auto trainer = tn::compile(normalised, tn::BinaryCrossentropy{}, tn::SGD{});
    const std::string message =
        error_of([&] { trainer.fit(data.x, data.y, {.batch_size = 16, .verbose = 0, .reduction_chunk = 4}); });
    BOOST_TEST(message.find("layer 'batch_normalization") != std::string::npos, message);
    BOOST_TEST(message.find("reduction_chunk") != std::string::npos, message);
    BOOST_TEST(trainer.iterations() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
