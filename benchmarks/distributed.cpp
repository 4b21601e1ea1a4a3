// benchmarks/distributed.cpp
// Data-parallel training steps of the chapter's model A (chapter5::BasicCNN<150, 150, 3>,
// RMSprop) and model F (chapter5::VGGTransfer<150, 150> trainable from block4_conv1,
// 17.4 M trainable parameters), global batch 30, through Trainer::fit on random images:
//
//   distributed [--steps-a N] [--steps-f N] [--reduction-chunk C] [a] [f]
//                                                              one process (all threads)
//   mpirun -np 2 --oversubscribe distributed [...]             2 ranks, cores/2 threads each
//   benchmarks/distributed.sh                                  both, one after the other
//
// Per model: images/s of the training steps (a warm-up fit first), seconds per step, the
// time per step spent waiting for the gradient sums after backward (what overlapping did
// not hide), and a bare MPI_Allreduce of the model's trainable gradients (its full cost).
// --reduction-chunk C: the same steps with fixed-order gradient sums (FitOptions::
// reduction_chunk); the wait is then the pairwise exchange after the last chunk.
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "typenet/core/random.hpp"
#include "typenet/data/array_source.hpp"
#include "typenet/distributed/session.hpp"
#include "typenet/train/trainer.hpp"
#include "chapter5/models.hpp"  // examples/: the book's models
#include "typenet/zoo/vgg.hpp"

namespace tn = typenet;

namespace {

// Forwards to the session's group, timing the wait for the gradient sums.
class TimedGroup final : public tn::DataParallel {
public:
    explicit TimedGroup(tn::DataParallel& inner) : inner_(inner) {}
    std::size_t rank() const override { return inner_.rank(); }
    std::size_t size() const override { return inner_.size(); }
    void sum(std::span<double> v, std::string_view what) override { inner_.sum(v, what); }
    void broadcast(float* d, std::size_t n, bool device, std::string_view what) override {
        inner_.broadcast(d, n, device, what);
    }
    std::string agree_on_failure(const std::string& f) override { return inner_.agree_on_failure(f); }
    void begin_gradients(std::span<const tn::GradientTensor> t) override {
        floats_ = 0;
        for (const auto& tensor : t) floats_ += tensor.count;
        inner_.begin_gradients(t);
    }
    void gradient_ready(std::size_t i) override { inner_.gradient_ready(i); }
    void finish_gradients() override {
        const auto start = std::chrono::steady_clock::now();
        inner_.finish_gradients();
        wait_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        ++steps;
    }
    bool has_ordered_sum() const override { return inner_.has_ordered_sum(); }
    void ordered_sum(std::span<const tn::GradientTensor> t, bool empty) override {
        floats_ = 0;
        for (const auto& tensor : t) floats_ += tensor.count;
        const auto start = std::chrono::steady_clock::now();
        inner_.ordered_sum(t, empty);
        wait_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        ++steps;
    }
    [[nodiscard]] std::size_t floats() const { return floats_; }

    double wait_seconds = 0.0;
    std::size_t steps = 0;

private:
    tn::DataParallel& inner_;
    std::size_t floats_ = 0;
};

template <class Net, class Prepare>
void run(const char* name, std::size_t steps, float learning_rate, std::size_t chunk,
         tn::distributed::Session& session, Prepare&& prepare) {
    constexpr std::size_t batch = 30;
    auto model = std::make_unique<Net>();
    prepare(*model);
    std::vector<float> x(batch * (steps + 1) * Net::input_shape::size), y(batch * (steps + 1));
    tn::Random rng(5);
    for (float& v : x) v = rng.uniform();
    for (float& v : y) v = rng.uniform() < 0.5f ? 0.0f : 1.0f;
    auto trainer = tn::compile(*model, tn::BinaryCrossentropy{}, tn::RMSprop{.learning_rate = learning_rate});
    std::unique_ptr<TimedGroup> timed;
    if (session.group() != nullptr && session.size() > 1) {
        timed = std::make_unique<TimedGroup>(*session.group());
        tn::set_data_parallel(timed.get());
    }
    // Warm-up: one step (allocations, first touches), then the measured steps.
    tn::ArraySource warm(std::vector<float>(x.begin(), x.begin() + batch * Net::input_shape::size),
                         std::vector<float>(y.begin(), y.begin() + batch), Net::input_shape::size, 1);
    trainer.fit(warm, {.epochs = 1, .batch_size = batch, .verbose = 0, .reduction_chunk = chunk});
    if (timed) timed->wait_seconds = 0.0, timed->steps = 0;
    tn::ArraySource data(std::vector<float>(x.begin() + batch * Net::input_shape::size, x.end()),
                         std::vector<float>(y.begin() + batch, y.end()), Net::input_shape::size, 1);
    const tn::History history =
        trainer.fit(data, {.epochs = 1, .batch_size = batch, .verbose = 0, .reduction_chunk = chunk});
    const double step_seconds = history.train_seconds[0] / static_cast<double>(steps);

    // The full cost of one gradient sum: a bare, blocking allreduce of the same floats.
    double bare = 0.0;
    std::size_t floats = timed ? timed->floats() : 0;
    if (timed) {
        std::vector<float> buffer(floats, 1.0f);
        constexpr int repeats = 3;
        MPI_Barrier(session.communicator()->handle());
        const double start = MPI_Wtime();
        for (int i = 0; i < repeats; ++i)
            MPI_Allreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(floats), MPI_FLOAT, MPI_SUM,
                          session.communicator()->handle());
        bare = (MPI_Wtime() - start) / repeats;
        tn::set_data_parallel(session.group());
    }
    if (session.leader()) {
        std::printf("%s: %zu process(es) x %d thread(s)%s: %.2f img/s, %.3f s/step (mean of %zu steps)", name,
                    session.size(), tn::cpu_threads(),
                    chunk != 0 ? (", reduction_chunk " + std::to_string(chunk)).c_str() : "",
                    static_cast<double>(batch) / step_seconds, step_seconds, steps);
        if (timed)
            std::printf("; gradient sums: %.1f ms/step waited after backward, a bare MPI_Allreduce of %.1f MB "
                        "takes %.1f ms",
                        1e3 * timed->wait_seconds / static_cast<double>(timed->steps), floats * 4e-6, 1e3 * bare);
        std::printf("\n");
        std::fflush(stdout);
    }
}

}  // namespace

int main(int argc, char** argv) {
    tn::distributed::Session session;
    std::size_t steps_a = 6, steps_f = 2, chunk = 0;
    bool a = false, f = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--steps-a" && i + 1 < argc) steps_a = std::strtoul(argv[++i], nullptr, 10);
        else if (arg == "--steps-f" && i + 1 < argc) steps_f = std::strtoul(argv[++i], nullptr, 10);
        else if (arg == "--threads" && i + 1 < argc) tn::set_cpu_threads(std::atoi(argv[++i]));
        else if (arg == "--reduction-chunk" && i + 1 < argc) chunk = std::strtoul(argv[++i], nullptr, 10);
        else if (arg == "a") a = true;
        else if (arg == "f") f = true;
        else {
            std::fprintf(stderr,
                         "usage: distributed [--steps-a N] [--steps-f N] [--threads N] [--reduction-chunk C] [a] [f]\n");
            return 2;
        }
    }
    if (!a && !f) a = f = true;
    if (a)
        run<chapter5::BasicCNN<150, 150, 3>>("model A (basic CNN)", steps_a, 1e-3f, chunk, session, [](auto&) {});
    if (f)
        run<chapter5::VGGTransfer<150, 150>>("model F (VGG16 fine-tuning)", steps_f, 1e-5f, chunk, session,
                                            [](auto& model) { model.set_trainable_from("block4_conv1"); });
    return 0;
}
