// Resumable training (train/training_state.hpp, BackupAndRestore): a run stopped after
// some epochs and continued in a fresh model and trainer ends with the weights, history
// and CSV of a run never stopped, bit for bit; the state file round-trips exactly; a
// damaged, truncated or foreign state is refused with the file's name and nothing
// changed; and a run killed with SIGKILL at random moments, five times, then finished,
// ends with the same bytes on disk as an uninterrupted run.
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"
#include "typenet/io/format_error.hpp"
#include "typenet/io/weights.hpp"
#include "typenet/train/callbacks.hpp"
#include "typenet/train/trainer.hpp"
#include "typenet/train/training_state.hpp"
#include "typenet/typenet.hpp"

namespace tn = typenet;
namespace fs = std::filesystem;
using train_test::make_blobs;
using train_test::read_bytes;
using train_test::ScratchDirectory;
using train_test::weights_of;

namespace {

using Net = tn::Sequential<tn::Input<6>, tn::Dense<12, tn::ReLU>, tn::Dropout<0.25f>, tn::Dense<1, tn::Sigmoid>>;
using OtherNet = tn::Sequential<tn::Input<6>, tn::Dense<10, tn::ReLU>, tn::Dense<1, tn::Sigmoid>>;

struct Run {
    std::vector<std::vector<float>> weights;
    tn::History history;
};

// `epochs` epochs of Adam on blobs with dropout, shuffled, with a BackupAndRestore at
// `state` (none when empty) and a CSVLogger at `csv`: a fresh model and trainer each
// call, as a new process would have.
Run train(std::size_t epochs, const fs::path& state, const fs::path& csv, std::size_t batch_size = 10) {
    const auto data = make_blobs(90, 6, 21);
    const auto val = make_blobs(30, 6, 22);
    tn::ArraySource validation(val.x, val.y);
    Net model(8);
    auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::Adam{.learning_rate = 5e-3f});
    tn::EarlyStopping stopping({.monitor = "val_loss", .patience = 100, .restore_best_weights = true});
    tn::ModelCheckpoint checkpoint(csv.parent_path() / "best.safetensors", {.save_best_only = true});
    tn::CSVLogger logger(csv);
    tn::BackupAndRestore backup(state.empty() ? csv.parent_path() / "unused" : state,
                                {.restore = !state.empty(), .delete_at_end = false});
    std::vector<tn::Callback*> callbacks{&stopping, &checkpoint, &logger};
    if (!state.empty()) callbacks.push_back(&backup);
    std::ostringstream out;
    tn::History history = trainer.fit(data.x, data.y, {.epochs = epochs, .batch_size = batch_size, .validation = &validation,
                                                       .seed = 4, .verbose = 1, .callbacks = callbacks, .out = &out});
    return {weights_of(model), history};
}

bool same_bits(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].size() != b[i].size() || std::memcmp(a[i].data(), b[i].data(), a[i].size() * sizeof(float)) != 0)
            return false;
    return true;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(resume)

BOOST_AUTO_TEST_CASE(a_run_continued_from_its_state_ends_as_a_run_never_stopped) {
    ScratchDirectory dir;
    const Run whole = train(7, {}, dir / "whole.csv");
    const Run first = train(3, dir / "run.training_state", dir / "resumed.csv");
    BOOST_TEST(!same_bits(first.weights, whole.weights));  // 3 of 7 epochs: not there yet
    const Run rest = train(7, dir / "run.training_state", dir / "resumed.csv");
    BOOST_TEST(same_bits(rest.weights, whole.weights));
    BOOST_TEST(rest.history.epochs() == 7u);
    BOOST_TEST(rest.history.epoch == whole.history.epoch);
    BOOST_TEST(rest.history.loss == whole.history.loss);  // exact doubles
    BOOST_TEST(rest.history.val_loss == whole.history.val_loss);
    BOOST_TEST(read_bytes(dir / "resumed.csv") == read_bytes(dir / "whole.csv"));
}

BOOST_AUTO_TEST_CASE(each_part_of_the_state_matters) {
    // Resuming from the weights alone (a fresh optimizer and dropout counter) does NOT
    // reproduce the run: the state's optimizer slots and counters are what make it exact.
    ScratchDirectory dir;
    const Run whole = train(5, {}, dir / "whole.csv");
    train(2, dir / "run.training_state", dir / "a.csv");
    const tn::TrainingState state = tn::read_training_state(dir / "run.training_state");
    BOOST_TEST(state.iterations == 18u);  // 2 epochs of 90 / 10
    BOOST_TEST(!state.optimizer_slots.empty());
    BOOST_TEST(state.layer_random.size() == 1u);
    BOOST_TEST(state.layer_random.begin()->second[1] == 18u);  // one mask per step

    Net model(8);
    tn::io::save_weights(model, dir / "w.safetensors");
    std::size_t i = 0;
    model.for_each_parameter([&](std::string_view, auto& p, bool) { p.set_values(state.weights.at(i++).values); });
    const auto data = make_blobs(90, 6, 21);
    auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::Adam{.learning_rate = 5e-3f});
    trainer.fit(data.x, data.y, {.epochs = 5, .batch_size = 10, .seed = 4, .verbose = 0, .initial_epoch = 2});
    BOOST_TEST(!same_bits(weights_of(model), whole.weights));
}

BOOST_AUTO_TEST_CASE(the_state_file_round_trips_exactly) {
    ScratchDirectory dir;
    tn::TrainingState state;
    state.model = "sequential_1";
    state.param_count = 7;
    state.loss = "binary_crossentropy";
    state.optimizer = "RMSprop(learning_rate=0x1p-10)";
    state.batch_size = 30;
    state.seed = 0xFFFFFFFFFFFFFFFFull;
    state.train_size = 3000;
    state.cpu_threads = 2;
    state.epochs_done = 2;
    state.epochs = 30;
    state.stopped = true;
    state.iterations = 200;
    state.weights = {{"dense_1/kernel", {2, 3}, {1, 2, 3, 4, 5, 6}}, {"dense_1/bias", {3}, {0.1f, -0.2f, 1e-38f}}};
    state.optimizer_slots = {{"dense_1/kernel/0", {2, 3}, {6, 5, 4, 3, 2, 1}}};
    state.layer_random = {{"2:dropout_1", {0x123456789ABCDEF0ull, 200}}};
    state.history.epoch = {0, 1};
    state.history.loss = {0.1, 1.0 / 3.0};
    state.history.accuracy = {0.5, 0.75};
    state.history.val_loss = {std::numeric_limits<double>::infinity(), 5e-324};
    state.history.val_accuracy = {0.25, 0.125};
    state.history.seconds = {1.5, 2.5};
    state.history.train_seconds = {1.0, 2.0};
    state.history.samples = {3000, 3000};
    state.history.stopped_early = true;
    state.callbacks = {{{{"best", "0x1.8p+0"}, {"wait", "3"}}, {{1.0f, 2.0f}, {3.0f}}}, {}};
    tn::write_training_state(dir / "s", state);

    const tn::TrainingState back = tn::read_training_state(dir / "s");
    BOOST_TEST(back.model == state.model);
    BOOST_TEST(back.param_count == state.param_count);
    BOOST_TEST(back.optimizer == state.optimizer);
    BOOST_TEST(back.seed == state.seed);
    BOOST_TEST(back.epochs_done == 2u);
    BOOST_TEST(back.stopped);
    BOOST_TEST(back.iterations == 200u);
    BOOST_TEST(back.cpu_threads == 2);
    BOOST_REQUIRE(back.weights.size() == 2u);
    BOOST_TEST(back.weights[1].name == "dense_1/bias");
    BOOST_TEST(back.weights[1].values == state.weights[1].values);
    BOOST_REQUIRE(back.optimizer_slots.size() == 1u);
    BOOST_TEST(back.optimizer_slots[0].name == "dense_1/kernel/0");
    BOOST_TEST(back.optimizer_slots[0].values == state.optimizer_slots[0].values);
    BOOST_TEST((back.layer_random == state.layer_random));
    BOOST_TEST(back.history.loss == state.history.loss);
    BOOST_TEST(back.history.val_loss == state.history.val_loss);
    BOOST_TEST(back.history.samples == state.history.samples);
    BOOST_TEST(back.history.stopped_early);
    BOOST_REQUIRE(back.callbacks.size() == 2u);
    BOOST_TEST((back.callbacks[0].values == state.callbacks[0].values));
    BOOST_TEST(back.callbacks[0].arrays == state.callbacks[0].arrays);
    BOOST_TEST(back.callbacks[1].values.empty());
}

BOOST_AUTO_TEST_CASE(a_run_stopped_early_stays_stopped) {
    ScratchDirectory dir;
    const auto data = make_blobs(60, 6, 1);
    auto run = [&](std::size_t epochs) {
        Net model(8);
        auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::Adam{});
        // Nothing improves by 10 after the first epoch: stops after epoch 3 (0-based 2).
        tn::EarlyStopping stopping({.monitor = "loss", .min_delta = 10.0, .patience = 2, .restore_best_weights = true});
        tn::BackupAndRestore backup(dir / "state", {.delete_at_end = false});
        const tn::History history = trainer.fit(data.x, data.y, {.epochs = epochs, .batch_size = 20, .verbose = 0,
                                                                  .callbacks = {&stopping, &backup}});
        return std::make_pair(history, weights_of(model));
    };
    const auto [stopped, weights] = run(10);
    BOOST_TEST(stopped.stopped_early);
    BOOST_TEST(stopped.epochs() == 3u);
    const auto [again, weights_again] = run(10);  // resumes: already stopped, trains nothing
    BOOST_TEST(again.stopped_early);
    BOOST_TEST(again.epochs() == 3u);
    BOOST_TEST(same_bits(weights, weights_again));
}

BOOST_AUTO_TEST_CASE(backup_and_restore_removes_its_file_at_the_end_by_default) {
    ScratchDirectory dir;
    const auto data = make_blobs(40, 6, 1);
    Net model(8);
    auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::RMSprop{});
    struct Probe : tn::Callback {
        fs::path file;
        bool seen = false;
        void on_epoch_end(tn::TrainingContext&, const tn::EpochLogs& logs) override {
            if (logs.epoch == 1) seen = fs::exists(file);  // written after epoch 0
        }
    } probe;
    probe.file = dir / "state";
    tn::BackupAndRestore backup(dir / "state");
    trainer.fit(data.x, data.y, {.epochs = 2, .batch_size = 20, .verbose = 0, .callbacks = {&probe, &backup}});
    BOOST_TEST(probe.seen);
    BOOST_TEST(!fs::exists(dir / "state"));
}

// ---- Bad state files: a clear error naming the file, and the model unchanged ----------

namespace {
template <class Check>
void refused(const fs::path& file, Check&& check) {
    const auto data = make_blobs(90, 6, 21);
    Net model(8);
    const auto before = weights_of(model);
    auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::Adam{.learning_rate = 5e-3f});
    try {
        trainer.fit(data.x, data.y, {.epochs = 7, .batch_size = 10, .seed = 4, .verbose = 0, .resume_from = file});
        BOOST_FAIL("no error for " << file);
    } catch (const std::exception& e) {
        const std::string message = e.what();
        BOOST_TEST(message.find(file.string()) != std::string::npos, message);
        check(message);
    }
    BOOST_TEST(same_bits(weights_of(model), before));
}
bool has(const std::string& message, const std::string& part) { return message.find(part) != std::string::npos; }
}  // namespace

BOOST_AUTO_TEST_CASE(a_missing_truncated_or_foreign_state_is_refused_by_name) {
    ScratchDirectory dir;
    // A good state of 2 epochs (no callbacks, as the fits in `refused`).
    {
        const auto data = make_blobs(90, 6, 21);
        Net model(8);
        auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::Adam{.learning_rate = 5e-3f});
        tn::BackupAndRestore backup(dir / "good", {.delete_at_end = false});
        trainer.fit(data.x, data.y, {.epochs = 2, .batch_size = 10, .seed = 4, .verbose = 0, .callbacks = {&backup}});
    }
    const std::string good = read_bytes(dir / "good");

    refused(dir / "absent", [](const std::string& m) { BOOST_TEST(has(m, "does not exist"), m); });

    for (const std::size_t keep : {std::size_t{0}, std::size_t{5}, std::size_t{100}, good.size() / 2, good.size() - 1}) {
        const fs::path cut = dir / ("cut_" + std::to_string(keep));
        typenet_test::write_bytes(cut, good.substr(0, keep));
        refused(cut, [](const std::string&) {});
    }

    std::string flipped = good;  // damage inside the metadata's history: loss":["0x... -> loss":["zx...
    const auto at = flipped.find("loss\\\":[\\\"0x");
    BOOST_REQUIRE(at != std::string::npos);
    flipped[at + 11] = 'z';
    typenet_test::write_bytes(dir / "flipped", flipped);
    refused(dir / "flipped", [](const std::string& m) { BOOST_TEST(has(m, "history 'loss'"), m); });

    Net weights_only(8);  // a weights file is not a training state
    tn::io::save_weights(weights_only, dir / "weights.safetensors");
    refused(dir / "weights.safetensors", [](const std::string& m) { BOOST_TEST(has(m, "not a typenet training state"), m); });
}

BOOST_AUTO_TEST_CASE(a_state_of_another_model_or_run_names_each_difference) {
    ScratchDirectory dir;
    const auto data = make_blobs(90, 6, 21);
    {
        OtherNet other(1);
        auto trainer = tn::compile(other, tn::BinaryCrossentropy{}, tn::Adam{.learning_rate = 5e-3f});
        tn::BackupAndRestore backup(dir / "other", {.delete_at_end = false});
        trainer.fit(data.x, data.y, {.epochs = 1, .batch_size = 10, .seed = 4, .verbose = 0, .callbacks = {&backup}});
    }
    refused(dir / "other", [](const std::string& m) {
        BOOST_TEST(has(m, "does not fit this run"), m);
        BOOST_TEST(has(m, "parameters: the state has"), m);
        BOOST_TEST(has(m, "weights: dense_1/kernel has shape (6, 10), the model (6, 12)"), m);
    });
    {
        Net model(8);
        auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::Adam{.learning_rate = 1e-3f});
        tn::BackupAndRestore backup(dir / "other_run", {.delete_at_end = false});
        trainer.fit(data.x, data.y, {.epochs = 1, .batch_size = 15, .seed = 4, .verbose = 0, .callbacks = {&backup}});
    }
    refused(dir / "other_run", [](const std::string& m) {
        BOOST_TEST(has(m, "batch size: the state has 15, this run 10"), m);
        BOOST_TEST(has(m, "optimizer: the state has Adam(learning_rate="), m);
    });
}

// ---- SIGKILL at random moments --------------------------------------------------------

namespace {
// Finished epochs of the worker in `out`, by the rows of its CSV history (each one is on
// disk, fdatasync'ed, when its epoch ends).
std::size_t rows_in(const fs::path& csv) {
    std::ifstream in(csv);
    std::size_t lines = 0;
    for (std::string line; std::getline(in, line);) ++lines;
    return lines > 0 ? lines - 1 : 0;
}

// Runs the worker to the end (kill_after_epoch < 0), or kills it with SIGKILL `delay`
// seconds after its history shows epoch `kill_after_epoch` finished; true if it was killed.
bool run_worker(const fs::path& out, int kill_after_epoch = -1, double delay = 0.0) {
    const pid_t child = ::fork();
    BOOST_REQUIRE(child >= 0);
    if (child == 0) {
        ::execl(TYPENET_RESUME_WORKER, TYPENET_RESUME_WORKER, out.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    int status = 0;
    if (kill_after_epoch >= 0) {
        std::chrono::steady_clock::time_point deadline{};
        for (;;) {
            if (::waitpid(child, &status, WNOHANG) == child) {
                BOOST_REQUIRE_MESSAGE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the worker failed: " << status);
                return false;
            }
            const auto now = std::chrono::steady_clock::now();
            if (deadline == std::chrono::steady_clock::time_point{} &&
                rows_in(out / "history.csv") > static_cast<std::size_t>(kill_after_epoch))
                deadline = now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                     std::chrono::duration<double>(delay));
            if (deadline != std::chrono::steady_clock::time_point{} && now >= deadline) break;
            std::this_thread::sleep_for(std::chrono::microseconds(500));
        }
        ::kill(child, SIGKILL);
    }
    BOOST_REQUIRE(::waitpid(child, &status, 0) == child);
    if (WIFSIGNALED(status)) return true;
    BOOST_REQUIRE_MESSAGE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the worker failed: " << status);
    return false;
}
}  // namespace

BOOST_AUTO_TEST_CASE(killed_five_times_at_random_then_resumed_gives_the_same_bytes) {
    ScratchDirectory dir;
    constexpr int epochs = 40;  // the worker's
    const auto start = std::chrono::steady_clock::now();
    BOOST_REQUIRE(!run_worker(dir / "whole"));
    const double epoch_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / epochs;

    // Random moments: a random epoch ahead of the last state (so a kill is never in the
    // last four), then a random time into the next epoch (training, validation, the
    // callbacks' saves or the state's own save).
    std::random_device device;
    std::mt19937_64 random(device());
    int killed = 0;
    std::ostringstream moments;
    for (int attempt = 0; attempt < 5; ++attempt) {
        const fs::path state = dir / "killed" / "run.training_state";
        const int done = fs::exists(state) ? static_cast<int>(tn::read_training_state(state).epochs_done) : 0;
        const int after = std::uniform_int_distribution<int>(done, std::min(done + 7, epochs - 5))(random);
        const double delay = std::uniform_real_distribution<double>(0.0, 1.0)(random) * epoch_seconds;
        const bool was_killed = run_worker(dir / "killed", after, delay);
        killed += was_killed;
        moments << "epoch " << after + 1 << " + " << delay << " s" << (was_killed ? "" : " (finished)") << "; ";
    }
    BOOST_TEST_MESSAGE("an epoch takes " << epoch_seconds << " s; kills at " << moments.str());
    run_worker(dir / "killed");
    BOOST_TEST(killed == 5, "only " << killed << " of 5 runs were killed before finishing: " << moments.str());
    for (const char* file : {"final.safetensors", "best.safetensors", "history.csv"})
        BOOST_TEST((read_bytes(dir / "killed" / file) == read_bytes(dir / "whole" / file)), file << " differs");
    // The last states agree on everything but the epochs' wall times.
    const auto a = tn::read_training_state(dir / "whole" / "run.training_state");
    const auto b = tn::read_training_state(dir / "killed" / "run.training_state");
    BOOST_TEST(a.iterations == b.iterations);
    BOOST_TEST((a.layer_random == b.layer_random));
    BOOST_REQUIRE(a.optimizer_slots.size() == b.optimizer_slots.size());
    for (std::size_t i = 0; i < a.optimizer_slots.size(); ++i)
        BOOST_TEST((a.optimizer_slots[i].values == b.optimizer_slots[i].values), a.optimizer_slots[i].name);
    BOOST_TEST(a.history.loss == b.history.loss);
    for (const auto& entry : fs::directory_iterator(dir / "killed"))  // killed saves left nothing behind
        BOOST_TEST(entry.path().filename().string().find(".tmp-") == std::string::npos, entry.path());
}

BOOST_AUTO_TEST_SUITE_END()
