// tests/distributed/mpi_train.cpp
// The program the data-parallel tests launch (run_checks.cmake runs it under mpirun):
// the Fashion-MNIST CNN of examples/fashion_mnist (with its Dropout, so the masks must
// follow the global sample index) trained for 100 steps of a global batch of 33 on the
// first 3,290 training images (every batch splits 16/17 over two ranks, the last one is
// 23), shuffled, and rank 0 saves the weights.
//
//   mpi_train --out FILE                       train, rank 0 writes FILE (atomically)
//   mpi_train --out FILE --kill-rank 1         rank 1 SIGKILLs itself at step 5
//   mpi_train --out FILE --bad-input PATH      rank 1 reads PATH (an IDX file) at step 5
//   mpi_train --compare A B                    max |a-b| / max |a| per tensor <= 1e-4
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

#include <xtensor/xview.hpp>

#include "typenet/data/array_source.hpp"
#include "typenet/data/idx.hpp"
#include "typenet/distributed/session.hpp"
#include "typenet/io/safetensors.hpp"
#include "typenet/io/weights.hpp"
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

}  // namespace

int main(int argc, char** argv) {
    std::string out, bad_input, initial;
    int kill_rank = -1;
    std::size_t steps = 100;
    int threads = 0;
    float learning_rate = 0.002f, momentum = 0.0f;  // gentle: see docs/distributed.md, "How equal"
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (flag == "--compare" && i + 2 < argc) return compare(argv[i + 1], argv[i + 2]);
        if (flag == "--out" && i + 1 < argc) out = argv[++i];
        else if (flag == "--kill-rank" && i + 1 < argc) kill_rank = std::atoi(argv[++i]);
        else if (flag == "--bad-input" && i + 1 < argc) bad_input = argv[++i];
        else if (flag == "--lr" && i + 1 < argc) learning_rate = std::strtof(argv[++i], nullptr);
        else if (flag == "--momentum" && i + 1 < argc) momentum = std::strtof(argv[++i], nullptr);
        else if (flag == "--initial" && i + 1 < argc) initial = argv[++i];
        else if (flag == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
        else if (flag == "--steps" && i + 1 < argc) steps = static_cast<std::size_t>(std::atoi(argv[++i]));
        else {
            std::cerr << "usage: mpi_train --out FILE [--kill-rank 1] [--bad-input PATH] | --compare A B\n";
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
        tn::ArraySource shuffled(data.train_images, data.train_labels, true, 7);
        FaultySource train(shuffled, session.rank(), kill_rank, bad_input);
        FashionNet model{42};
        if (!initial.empty() && session.leader()) tn::io::save_weights(model, initial);
        auto trainer = tn::compile(model, tn::SparseCategoricalCrossentropy{}, tn::SGD{.learning_rate = learning_rate, .momentum = momentum});
        const tn::History history = trainer.fit(train, {.epochs = 1, .batch_size = global_batch, .verbose = 0});
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
