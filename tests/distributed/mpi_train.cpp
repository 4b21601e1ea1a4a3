// tests/distributed/mpi_train.cpp
// The program the data-parallel tests launch (run_checks.cmake runs it under mpirun):
// the Fashion-MNIST CNN of examples/fashion_mnist (with its Dropout, so the masks must
// follow the global sample index) trained for 100 steps of a global batch of 33 on the
// first 3,290 training images (every batch splits 16/17 over two ranks, the last one is
// 23), shuffled, and rank 0 saves the weights.
//
//   mpi_train --out FILE                       train, rank 0 writes FILE (atomically)
//   mpi_train --out FILE --reduction-chunk C   the same with fixed-order gradient sums
//                                              (FitOptions::reduction_chunk): 1 and 2 ranks
//                                              must end with the same weights after 100 free steps
//   mpi_train --out FILE --kill-rank 1         rank 1 SIGKILLs itself at step 5
//   mpi_train --out FILE --bad-input PATH      rank 1 reads PATH (an IDX file) at step 5
//   mpi_train --compare A B                    max |a-b| / max |a| per tensor <= 1e-4
//   mpi_train --stepwise [--model bn]          every step from the same weights (see below);
//                                              bn: a CNN with BatchNormalization
//
// --stepwise (run with 2 ranks): before each of the 100 steps the data-parallel model takes
// the one-process model's weights (rank 0 trains that one alone), both take the step on the
// same global batch, and the weights they reach must agree within 1e-4 relative, every step.
// Unlike one comparison after 100 independent steps, this does not depend on whether a
// pre-activation within rounding of zero turns a ReLU on in one run and off in the other
// (docs/distributed.md, "How equal is the same model").
//
// Exit 77 (ctest: Skipped) when the Fashion-MNIST files are missing.
#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <xtensor/xview.hpp>

#include "typenet/data/array_source.hpp"
#include "typenet/data/idx.hpp"
#include "typenet/distributed/session.hpp"
#include "typenet/io/safetensors.hpp"
#include "typenet/io/weights.hpp"
#include "typenet/layers/activation.hpp"
#include "typenet/layers/batch_normalization.hpp"
#include "typenet/layers/conv2d.hpp"
#include "typenet/layers/dense.hpp"
#include "typenet/layers/dropout.hpp"
#include "typenet/layers/flatten.hpp"
#include "typenet/layers/pooling.hpp"
#include "typenet/model/sequential.hpp"
#include "typenet/train/trainer.hpp"

namespace tn = typenet;

using FashionNet = tn::Sequential<tn::Input<28, 28, 1>, tn::Conv2D<32, 3, tn::ReLU>, tn::MaxPooling2D<2>,
                                  tn::Conv2D<64, 3, tn::ReLU>, tn::MaxPooling2D<2>, tn::Flatten,
                                  tn::Dense<128, tn::ReLU>, tn::Dropout<0.3f>, tn::Dense<10, tn::Softmax>>;

// A small CNN whose layers normalise with batch statistics in training: its data-parallel
// steps must sum them over the ranks to match one process. Its convolutions have no bias,
// as usual before BatchNormalization (such a bias gets only rounding noise as gradient).
using BatchNormNet = tn::Sequential<tn::Input<28, 28, 1>, tn::Conv2D<8, 3, tn::Linear, tn::Valid, 1, "", tn::NoBias>,
                                    tn::BatchNormalization<>, tn::Activation<tn::ReLU>, tn::MaxPooling2D<2>,
                                    tn::Conv2D<16, 3, tn::Linear, tn::Valid, 1, "", tn::NoBias>,
                                    tn::BatchNormalization<>, tn::Activation<tn::ReLU>, tn::MaxPooling2D<2>, tn::Flatten,
                                    tn::Dense<10, tn::Softmax>>;

namespace {

constexpr std::size_t global_batch = 33;

// Passes batches through, and at step `at` makes one rank fail: killed, or a bad file read.
class FaultySource final : public tn::BatchSource {
public:
    FaultySource(tn::BatchSource& source, std::size_t rank, int kill_rank, std::string bad_input)
        : source_(source), rank_(rank), kill_rank_(kill_rank), bad_input_(std::move(bad_input)) {}
    std::size_t size() const override { return source_.size(); }
    std::size_t sample_size() const override { return source_.sample_size(); }
    std::size_t label_size() const override { return source_.label_size(); }
    void start_epoch(std::uint64_t epoch) override { source_.start_epoch(epoch); }
    bool set_shard(const tn::Shard& shard) override { return source_.set_shard(shard); }
    std::size_t next_batch(float* x, float* y, std::size_t max_batch) override {
        if (++step_ == 5 && rank_ == 1) {
            if (kill_rank_ == 1) std::raise(SIGKILL);
            if (!bad_input_.empty()) (void)tn::read_idx_images(bad_input_);  // throws, naming the file
        }
        return source_.next_batch(x, y, max_batch);
    }

private:
    tn::BatchSource& source_;
    std::size_t rank_;
    int kill_rank_;
    std::string bad_input_;
    std::size_t step_ = 0;
};

int compare(const char* a_path, const char* b_path) {
    const auto a = tn::io::read_safetensors(a_path), b = tn::io::read_safetensors(b_path);
    double worst = 0.0;
    std::size_t tensors = 0;
    if (a.size() != b.size()) {
        std::cerr << "compare: " << a.size() << " tensors against " << b.size() << '\n';
        return 1;
    }
    for (std::size_t k = 0; k < a.size(); ++k) {
        const tn::io::TensorData &tensor = a[k], &other = b[k];
        const std::string& name = tensor.name;
        if (other.name != name || other.values.size() != tensor.values.size()) {
            std::cerr << "compare: tensor " << name << " does not match " << other.name << '\n';
            return 1;
        }
        double largest = 0.0, diff = 0.0;
        for (std::size_t i = 0; i < tensor.values.size(); ++i) {
            largest = std::max(largest, static_cast<double>(std::abs(tensor.values[i])));
            diff = std::max(diff, static_cast<double>(std::abs(tensor.values[i] - other.values[i])));
        }
        const double relative = largest > 0 ? diff / largest : diff;
        std::printf("  %-24s max |a-b| / max |a| = %.3g\n", name.c_str(), relative);
        worst = std::max(worst, relative);
        ++tensors;
    }
    std::printf("compare: %zu tensors, worst relative difference %.3g (limit 1e-4)\n", tensors, worst);
    return tensors > 0 && worst <= 1e-4 ? 0 : 1;
}

// Every weight of a model, its state included (BatchNormalization's moving statistics).
template <class Model>
std::vector<tn::Variable<tn::cpu>*> weights_of(Model& model) {
    std::vector<tn::Variable<tn::cpu>*> list;
    model.for_each_weight([&](std::string_view, auto& weight, bool) { list.push_back(&weight); });
    return list;
}

// Worst max |a-b| / max |a| over the tensors of two models.
template <class Model>
double worst_difference(Model& a, Model& b) {
    const auto wa = weights_of(a), wb = weights_of(b);
    double worst = 0.0;
    for (std::size_t k = 0; k < wa.size(); ++k) {
        const std::vector<float> va = wa[k]->values(), vb = wb[k]->values();
        double largest = 0.0, diff = 0.0;
        for (std::size_t i = 0; i < va.size(); ++i) {
            largest = std::max(largest, static_cast<double>(std::abs(va[i])));
            diff = std::max(diff, static_cast<double>(std::abs(va[i] - vb[i])));
        }
        worst = std::max(worst, largest > 0 ? diff / largest : diff);
    }
    return worst;
}

template <class Model>
int stepwise(tn::distributed::Session& session, const tn::FashionMnist& data, std::size_t steps, float learning_rate,
             const char* model_name) {
    tn::ArraySource shuffled(data.train_images, data.train_labels, true, 7);
    shuffled.start_epoch(0);
    Model one{42}, many{42};  // `one` trains on rank 0 alone; `many` on every rank
    const tn::SGD sgd{.learning_rate = learning_rate};
    auto one_trainer = tn::compile(one, tn::SparseCategoricalCrossentropy{}, sgd);
    auto many_trainer = tn::compile(many, tn::SparseCategoricalCrossentropy{}, sgd);
    tn::DataParallel* group = tn::active_data_parallel_slot();
    const auto one_weights = weights_of(one), many_weights = weights_of(many);
    double worst = 0.0;
    std::size_t worst_step = 0;
    std::vector<float> x(global_batch * shuffled.sample_size()), y(global_batch * shuffled.label_size());
    for (std::size_t step = 1; step <= steps; ++step) {
        const std::size_t n = shuffled.next_batch(x.data(), y.data(), global_batch);
        tn::ArraySource batch(std::vector<float>(x.begin(), x.begin() + n * shuffled.sample_size()),
                              std::vector<float>(y.begin(), y.begin() + n * shuffled.label_size()),
                              shuffled.sample_size(), shuffled.label_size());
        const tn::FitOptions options{.epochs = 1, .batch_size = global_batch, .verbose = 0};
        if (session.leader()) {
            // fit broadcasts the parameters from rank 0; the state (moving statistics) every
            // rank takes from its own copy, so rank 0 sends it here
            for (std::size_t k = 0; k < one_weights.size(); ++k) many_weights[k]->set_values(one_weights[k]->values());
            tn::set_data_parallel(nullptr);
            one_trainer.fit(batch, options);
            tn::set_data_parallel(group);
        }
        many.for_each_state([&](std::string_view, auto& state) {
            group->broadcast(state.value.data(), state.size(), false, state.name);
        });
        many_trainer.fit(batch, options);
        if (session.leader()) {
            const double difference = worst_difference(one, many);
            if (difference > worst) worst = difference, worst_step = step;
        }
    }
    if (!session.leader()) return 0;
    std::printf("stepwise (%s): %zu steps of %zu ranks against one process from the same weights: worst relative "
                "difference %.3g (step %zu, limit 1e-4)\n",
                model_name, steps, session.size(), worst, worst_step);
    return worst <= 1e-4 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::string out, bad_input, initial;
    bool step_by_step = false;
    std::string model_name = "cnn";
    int kill_rank = -1;
    std::size_t steps = 100, reduction_chunk = 0;
    int threads = 0;
    float learning_rate = 0.002f, momentum = 0.0f;  // gentle: see docs/distributed.md, "How equal"
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (flag == "--compare" && i + 2 < argc) return compare(argv[i + 1], argv[i + 2]);
        if (flag == "--out" && i + 1 < argc) out = argv[++i];
        else if (flag == "--stepwise") step_by_step = true;
        else if (flag == "--model" && i + 1 < argc) model_name = argv[++i];
        else if (flag == "--kill-rank" && i + 1 < argc) kill_rank = std::atoi(argv[++i]);
        else if (flag == "--bad-input" && i + 1 < argc) bad_input = argv[++i];
        else if (flag == "--lr" && i + 1 < argc) learning_rate = std::strtof(argv[++i], nullptr);
        else if (flag == "--momentum" && i + 1 < argc) momentum = std::strtof(argv[++i], nullptr);
        else if (flag == "--initial" && i + 1 < argc) initial = argv[++i];
        else if (flag == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
        else if (flag == "--steps" && i + 1 < argc) steps = static_cast<std::size_t>(std::atoi(argv[++i]));
        else if (flag == "--reduction-chunk" && i + 1 < argc) reduction_chunk = std::strtoul(argv[++i], nullptr, 10);
        else {
            std::cerr << "usage: mpi_train --out FILE [--kill-rank 1] [--bad-input PATH] [--reduction-chunk C] | --stepwise "
                         "[--model bn] | --compare A B\n";
            return 2;
        }
    }
    if (!tn::fashion_mnist_available()) {
        std::cout << "Fashion-MNIST not found in " << tn::fashion_mnist_dir().string() << ": skipped\n";
        return 77;
    }
    tn::distributed::Session session;
    if (threads > 0) tn::set_cpu_threads(threads);
    try {
        const tn::FashionMnist data = tn::load_fashion_mnist(tn::fashion_mnist_dir(), steps * global_batch - 10, 1);
        if (step_by_step)
            return model_name == "bn" ? stepwise<BatchNormNet>(session, data, steps, learning_rate, "CNN with BatchNormalization")
                                      : stepwise<FashionNet>(session, data, steps, learning_rate, "Fashion-MNIST CNN");
        tn::ArraySource shuffled(data.train_images, data.train_labels, true, 7);
        FaultySource train(shuffled, session.rank(), kill_rank, bad_input);
        FashionNet model{42};
        if (!initial.empty() && session.leader()) tn::io::save_weights(model, initial);
        auto trainer = tn::compile(model, tn::SparseCategoricalCrossentropy{}, tn::SGD{.learning_rate = learning_rate, .momentum = momentum});
        const tn::History history = trainer.fit(
            train, {.epochs = 1, .batch_size = global_batch, .verbose = 0, .reduction_chunk = reduction_chunk});
        if (trainer.iterations() != steps)
            throw std::logic_error("expected " + std::to_string(steps) + " steps, took " +
                                   std::to_string(trainer.iterations()));
        if (session.leader()) {
            tn::io::save_weights(model, out);
            std::printf("%zu ranks x %d threads: %zu steps, loss %.6f, accuracy %.4f, %zu samples\n", session.size(),
                        tn::cpu_threads(), steps, history.loss[0], history.accuracy[0], history.samples[0]);
        }
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "error (rank " << session.rank() << "): " << e.what() << std::endl;
        return 1;
    }
}
