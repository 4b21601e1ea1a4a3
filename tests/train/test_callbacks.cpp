// Callbacks and weights on disk: ModelCheckpoint keeps the best epoch, EarlyStopping
// stops and restores the best weights, CSVLogger writes Keras's rows, a NaN loss stops
// training with its epoch and batch while the last good checkpoint survives, and saved
// weights reload to bit-identical predictions (damaged or foreign files change nothing).
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "support.hpp"
#include "typenet/io/csv.hpp"
#include "typenet/io/weights.hpp"
#include "typenet/train/predict.hpp"
#include "typenet/train/trainer.hpp"
#include "typenet/typenet.hpp"

namespace tn = typenet;
using train_test::make_blobs;
using train_test::ScratchDirectory;
using train_test::weights_of;

namespace {

// A model stand-in whose only "weight" is a number the test sets before each epoch.
struct FakeContext : tn::TrainingContext {
    float weight = 0.0f;
    std::vector<std::string> saved;  // "path@weight" per save
    bool stopped = false, validation = true;
    std::ostringstream out;

    void save_weights(const std::filesystem::path& path) override { saved.push_back(path.string() + "@" + std::to_string(weight)); }
    void load_weights(const std::filesystem::path&) override {}
    tn::WeightValues get_weights() const override { return {{weight}}; }
    void set_weights(const tn::WeightValues& values) override { weight = values.at(0).at(0); }
    void stop_training() override { stopped = true; }
    bool has_validation() const override { return validation; }
    std::ostream& log() override { return out; }
};

tn::EpochLogs logs_with(std::size_t epoch, double val_loss, double val_accuracy) {
    tn::EpochLogs logs;
    logs.epoch = epoch;
    logs.loss = val_loss;
    logs.accuracy = val_accuracy;
    logs.has_validation = true;
    logs.val_loss = val_loss;
    logs.val_accuracy = val_accuracy;
    return logs;
}

// Records the weights and logs at every epoch end (put it before the callback under test).
struct Recorder : tn::Callback {
    std::vector<tn::WeightValues> weights;
    std::vector<tn::EpochLogs> logs;
    void on_epoch_end(tn::TrainingContext& context, const tn::EpochLogs& l) override {
        weights.push_back(context.get_weights());
        logs.push_back(l);
    }
};

using Net = tn::Sequential<tn::Input<4>, tn::Dense<8, tn::ReLU>, tn::Dropout<0.2f>, tn::Dense<1, tn::Sigmoid>>;

// Wraps a source and poisons the first label of one batch with NaN (a NaN pixel may not
// reach the loss: ReLU maps it to 0).
class PoisonedSource : public tn::BatchSource {
public:
    // Puts a NaN into the first label of batch `batch` of epoch `epoch` (0-based epoch,
    // 1-based batch), or into its first pixel.
    enum class Where { label, pixel };
    PoisonedSource(tn::BatchSource& inner, std::size_t epoch, std::size_t batch, Where where = Where::label)
        : inner_(inner), epoch_(epoch), batch_(batch), where_(where) {}
    std::size_t size() const override { return inner_.size(); }
    std::size_t sample_size() const override { return inner_.sample_size(); }
    std::size_t label_size() const override { return inner_.label_size(); }
    void start_epoch(std::uint64_t epoch) override {
        inner_.start_epoch(epoch);
        current_epoch_ = epoch;
        batches_ = 0;
    }
    std::size_t next_batch(float* x, float* y, std::size_t max_batch) override {
        const std::size_t n = inner_.next_batch(x, y, max_batch);
        if (n > 0 && ++batches_ == batch_ && current_epoch_ == epoch_)
            (where_ == Where::label ? y : x)[0] = std::numeric_limits<float>::quiet_NaN();
        return n;
    }

private:
    tn::BatchSource& inner_;
    std::size_t epoch_, batch_, current_epoch_ = 0, batches_ = 0;
    Where where_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(callbacks)

BOOST_AUTO_TEST_CASE(checkpoint_saves_only_improvements) {
    FakeContext context;
    tn::ModelCheckpoint checkpoint("best.safetensors", {.monitor = "val_accuracy", .save_best_only = true, .verbose = 1});
    checkpoint.on_train_begin(context);
    const std::vector<double> accuracy{0.5, 0.7, 0.6, 0.7, 0.8};
    for (std::size_t e = 0; e < accuracy.size(); ++e) {
        context.weight = static_cast<float>(e);
        checkpoint.on_epoch_end(context, logs_with(e, 1.0, accuracy[e]));
    }
    // Saved after epochs 0, 1 and 4; 0.7 again is no improvement (Keras compares with >).
    BOOST_TEST(context.saved == (std::vector<std::string>{"best.safetensors@0.000000", "best.safetensors@1.000000",
                                                          "best.safetensors@4.000000"}),
               boost::test_tools::per_element());
    BOOST_TEST(checkpoint.best() == 0.8);
    BOOST_TEST(*checkpoint.last_saved_epoch() == 4u);
    BOOST_TEST(context.out.str().find("Epoch 00005: val_accuracy improved from 0.70000 to 0.80000, saving model to "
                                      "best.safetensors") != std::string::npos,
               context.out.str());
    BOOST_TEST(context.out.str().find("Epoch 00004: val_accuracy did not improve from 0.70000") != std::string::npos);

    // 'auto' minimises a loss; without save_best_only every epoch is saved.
    FakeContext loss_context;
    tn::ModelCheckpoint by_loss("w.safetensors", {.monitor = "val_loss", .save_best_only = true});
    by_loss.on_train_begin(loss_context);
    for (std::size_t e = 0; e < 3; ++e) by_loss.on_epoch_end(loss_context, logs_with(e, e == 1 ? 0.5 : 0.9, 0.0));
    BOOST_TEST(loss_context.saved.size() == 2u);
    FakeContext every_context;
    tn::ModelCheckpoint every("w.safetensors");
    every.on_train_begin(every_context);
    for (std::size_t e = 0; e < 3; ++e) every.on_epoch_end(every_context, logs_with(e, 0.9, 0.0));
    BOOST_TEST(every_context.saved.size() == 3u);

    // A validation quantity without validation data is a mistake said at the start.
    FakeContext no_validation;
    no_validation.validation = false;
    BOOST_CHECK_THROW(checkpoint.on_train_begin(no_validation), std::invalid_argument);
    BOOST_CHECK_THROW(tn::ModelCheckpoint("x", {.monitor = "val_acuracy"}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(early_stopping_waits_then_restores_the_best) {
    FakeContext context;
    tn::EarlyStopping stop({.monitor = "val_loss", .patience = 2, .restore_best_weights = true, .verbose = 1});
    stop.on_train_begin(context);
    const std::vector<double> loss{1.0, 0.8, 0.9, 0.85, 0.7};
    std::size_t epochs_run = 0;
    for (std::size_t e = 0; e < loss.size() && !context.stopped; ++e, ++epochs_run) {
        context.weight = static_cast<float>(e);
        stop.on_epoch_end(context, logs_with(e, loss[e], 0.0));
    }
    // Epoch 1 was best; epochs 2 and 3 did not improve, so patience 2 ends it after epoch 3.
    BOOST_TEST(epochs_run == 4u);
    BOOST_TEST(*stop.stopped_epoch() == 3u);
    BOOST_TEST(*stop.best_epoch() == 1u);
    BOOST_TEST(context.weight == 1.0f);  // restored
    stop.on_train_end(context, {});
    BOOST_TEST(context.out.str().find("Epoch 00004: early stopping") != std::string::npos, context.out.str());

    // min_delta: improvements smaller than it do not count.
    FakeContext delta_context;
    tn::EarlyStopping strict({.monitor = "val_loss", .min_delta = 0.15, .patience = 1});
    strict.on_train_begin(delta_context);
    strict.on_epoch_end(delta_context, logs_with(0, 1.0, 0.0));
    strict.on_epoch_end(delta_context, logs_with(1, 0.9, 0.0));  // better by 0.1 < 0.15
    BOOST_TEST(delta_context.stopped);
}

BOOST_AUTO_TEST_CASE(checkpoint_file_holds_the_best_epoch) {
    ScratchDirectory dir;
    const auto train = make_blobs(128, 4, 31, 0.6f), val = make_blobs(128, 4, 32, 0.6f);
    tn::ArraySource val_source(val.x, val.y);
    Net model{5};
    auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::SGD{.learning_rate = 0.5f, .momentum = 0.9f});
    tn::ModelCheckpoint checkpoint(dir / "best.safetensors", {.monitor = "val_accuracy", .save_best_only = true});
    const auto history = trainer.fit(train.x, train.y,
                                      {.epochs = 6, .batch_size = 16, .validation = &val_source, .verbose = 0,
                                       .callbacks = {&checkpoint}});
    std::size_t best = 0;
    for (std::size_t e = 1; e < history.epochs(); ++e)
        if (history.val_accuracy[e] > history.val_accuracy[best]) best = e;
    BOOST_TEST(*checkpoint.last_saved_epoch() == best);
    BOOST_TEST(checkpoint.best() == history.val_accuracy[best]);

    Net reloaded{99};
    tn::io::load_weights(reloaded, dir / "best.safetensors");
    auto check = tn::compile(reloaded, tn::BinaryCrossentropy{}, tn::SGD{});
    const tn::Evaluation again = check.evaluate(val_source, 16);
    BOOST_TEST(again.accuracy == history.val_accuracy[best]);  // the same numbers: the same weights
    BOOST_TEST(again.loss == history.val_loss[best]);
}

BOOST_AUTO_TEST_CASE(early_stopping_in_fit_restores_weights) {
    const auto train = make_blobs(128, 4, 41);
    Net model{6};
    auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::Adam{});
    Recorder recorder;
    // Nothing improves on epoch 0's loss by 10, so patience 1 stops after epoch 1.
    tn::EarlyStopping stop({.monitor = "loss", .min_delta = 10.0, .patience = 1, .restore_best_weights = true});
    const auto history = trainer.fit(train.x, train.y, {.epochs = 5, .batch_size = 32, .verbose = 0,
                                                        .callbacks = {&recorder, &stop}});
    BOOST_TEST(history.epochs() == 2u);
    BOOST_TEST(history.stopped_early);
    BOOST_TEST(*stop.stopped_epoch() == 1u);
    BOOST_TEST(weights_of(model) == recorder.weights[0]);  // epoch 0's weights are back
    BOOST_TEST(weights_of(model) != recorder.weights[1]);
}

BOOST_AUTO_TEST_CASE(csv_logger_writes_keras_rows) {
    ScratchDirectory dir;
    const auto train = make_blobs(64, 4, 51), val = make_blobs(32, 4, 52);
    tn::ArraySource val_source(val.x, val.y);
    Net model;
    auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::RMSprop{});
    tn::CSVLogger csv(dir / "history.csv");
    const auto history = trainer.fit(train.x, train.y, {.epochs = 3, .batch_size = 16, .validation = &val_source,
                                                        .verbose = 0, .callbacks = {&csv}});
    const tn::io::CsvTable table = tn::io::read_csv(dir / "history.csv");
    BOOST_TEST(table.columns == (std::vector<std::string>{"epoch", "accuracy", "loss", "val_accuracy", "val_loss"}),
               boost::test_tools::per_element());
    BOOST_REQUIRE(table.rows.size() == 3u);
    BOOST_TEST(table.column("epoch") == (std::vector<double>{0, 1, 2}), boost::test_tools::per_element());
    BOOST_TEST(table.column("loss") == history.loss, boost::test_tools::per_element());
    BOOST_TEST(table.column("val_accuracy") == history.val_accuracy, boost::test_tools::per_element());

    // append = true continues the file; a new logger without it starts afresh.
    tn::CSVLogger more(dir / "history.csv", true);
    trainer.fit(train.x, train.y, {.epochs = 2, .batch_size = 16, .validation = &val_source, .verbose = 0,
                                   .callbacks = {&more}});
    BOOST_TEST(tn::io::read_csv(dir / "history.csv").rows.size() == 5u);
    tn::CSVLogger fresh(dir / "history.csv");
    trainer.fit(train.x, train.y, {.epochs = 1, .batch_size = 16, .validation = &val_source, .verbose = 0,
                                   .callbacks = {&fresh}});
    BOOST_TEST(tn::io::read_csv(dir / "history.csv").rows.size() == 1u);
}

BOOST_AUTO_TEST_CASE(nan_loss_stops_training_and_keeps_the_last_good_checkpoint) {
    ScratchDirectory dir;
    const auto train = make_blobs(64, 4, 61);
    tn::ArraySource clean(train.x, train.y, true, 3);
    PoisonedSource poisoned(clean, 2, 2);  // epoch 3, batch 2 (1-based)
    Net model{7};
    auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::RMSprop{});
    Recorder recorder;
    tn::ModelCheckpoint checkpoint(dir / "last.safetensors");  // saved after every epoch
    tn::CSVLogger csv(dir / "history.csv");
    std::ostringstream out;
    try {
        trainer.fit(poisoned, {.epochs = 5, .batch_size = 16, .verbose = 1, .callbacks = {&recorder, &checkpoint, &csv},
                               .out = &out});
        BOOST_FAIL("fit went on through a NaN loss");
    } catch (const tn::NonFiniteLoss& e) {
        BOOST_TEST(e.epoch() == 3u);
        BOOST_TEST(e.batch() == 2u);
        BOOST_TEST(std::isnan(e.loss()));
        const std::string message = e.what();
        BOOST_TEST(message.find("loss (binary_crossentropy) is nan at epoch 3, batch 2 of 4") != std::string::npos, message);
    }
    BOOST_TEST(recorder.weights.size() == 2u);
    Net reloaded{1};
    tn::io::load_weights(reloaded, dir / "last.safetensors");
    BOOST_TEST(weights_of(reloaded) == recorder.weights[1]);  // the checkpoint of epoch 2 is intact
    BOOST_TEST(train_test::all_finite(model));                // the bad batch changed nothing
    BOOST_TEST(tn::io::read_csv(dir / "history.csv").rows.size() == 2u);
    BOOST_TEST(trainer.iterations() == 2u * 4u + 1u);  // two epochs, and batch 1 of epoch 3
}

BOOST_AUTO_TEST_CASE(a_nan_pixel_reaches_the_loss_through_relu_and_stops_training) {
    // ReLU lets NaN through (as TensorFlow does), so bad input is caught, not hidden.
    const auto train = make_blobs(64, 4, 61);
    tn::ArraySource clean(train.x, train.y, true, 3);
    PoisonedSource poisoned(clean, 1, 3, PoisonedSource::Where::pixel);  // epoch 2, batch 3 (1-based)
    Net model{7};
    auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::RMSprop{});
    try {
        trainer.fit(poisoned, {.epochs = 4, .batch_size = 16, .verbose = 0});
        BOOST_FAIL("fit went on through a NaN input");
    } catch (const tn::NonFiniteLoss& e) {
        BOOST_TEST(e.epoch() == 2u);
        BOOST_TEST(e.batch() == 3u);
    }
    BOOST_TEST(train_test::all_finite(model));  // the bad batch changed nothing
}

BOOST_AUTO_TEST_CASE(save_reload_predict_is_bit_identical) {
    ScratchDirectory dir;
    using Conv = tn::Sequential<tn::Input<8, 8, 1>, tn::Conv2D<4, 3, tn::ReLU>, tn::MaxPooling2D<2>, tn::Flatten,
                                tn::Dense<10, tn::Softmax>>;
    tn::Random rng(70);
    xt::xtensor<float, 4> x = xt::xtensor<float, 4>::from_shape({40, 8, 8, 1});
    for (auto& v : x) v = rng.uniform(0.0f, 1.0f);
    xt::xtensor<float, 1> y = xt::xtensor<float, 1>::from_shape({40});
    for (std::size_t i = 0; i < 40; ++i) y(i) = static_cast<float>(i % 10);
    Conv model{1};
    auto trainer = tn::compile(model, tn::SparseCategoricalCrossentropy{}, tn::Adam{});
    trainer.fit(x, y, {.epochs = 2, .batch_size = 8, .verbose = 0});
    tn::io::save_weights(model, dir / "conv.safetensors");
    const xt::xtensor<float, 2> before = tn::predict(model, x, 16);

    Conv reloaded{2};
    tn::io::load_weights(reloaded, dir / "conv.safetensors");
    const xt::xtensor<float, 2> after = tn::predict(reloaded, x, 16);
    BOOST_TEST(std::memcmp(before.data(), after.data(), before.size() * sizeof(float)) == 0);

    // A truncated file, a corrupted header and another model's file: errors, model untouched.
    const std::string bytes = train_test::read_bytes(dir / "conv.safetensors");
    std::ofstream(dir / "truncated.safetensors", std::ios::binary) << bytes.substr(0, bytes.size() - 10);
    std::string corrupt = bytes;
    corrupt[10] = '#';
    std::ofstream(dir / "corrupt.safetensors", std::ios::binary) << corrupt;
    tn::io::save_weights(Net{}, dir / "other.safetensors");
    Conv victim{3};
    const auto untouched = weights_of(victim);
    for (const char* name : {"truncated.safetensors", "corrupt.safetensors", "other.safetensors"}) {
        BOOST_TEST_CONTEXT(name) {
            std::string message;
            try {
                tn::io::load_weights(victim, dir / name);
            } catch (const std::exception& e) {
                message = e.what();
            }
            const bool names_the_culprit =
                message.find(name) != std::string::npos || message.find("conv2d_1/kernel") != std::string::npos;
            BOOST_TEST(names_the_culprit, message);
            BOOST_TEST(weights_of(victim) == untouched);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
