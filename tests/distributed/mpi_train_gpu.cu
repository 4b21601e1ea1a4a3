// tests/distributed/mpi_train_gpu.cu
// mpi_train's Fashion-MNIST CNN on the GPU, data-parallel under mpirun: NCCL between
// distinct GPUs (NcclDataParallel), host-staged MPI when ranks share one GPU
// (MpiDataParallel). Built with nvcc in CI (compile check); run by scripts/gpu-check on a
// GPU machine that has mpirun:
//
//   mpirun -np 2 mpi_train_gpu --out two.safetensors   (then mpi_train --compare against
//   mpi_train_gpu --out one.safetensors                  the 1-rank run)
//
// Exit 77 (skipped) without a GPU or without Fashion-MNIST.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "typenet/cuda.cuh"
#include "typenet/data/array_source.hpp"
#include "typenet/data/idx.hpp"
#include "typenet/distributed/communicator.hpp"
#include "typenet/distributed/mpi_data_parallel.hpp"
#include "typenet/distributed/nccl_data_parallel.cuh"
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

int main(int argc, char** argv) {
    std::string out = "mpi_train_gpu.safetensors";
    for (int i = 1; i + 1 < argc; i += 2)
        if (std::string(argv[i]) == "--out") out = argv[i + 1];
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
        std::cout << "no CUDA device: skipped\n";
        return 77;
    }
    if (!tn::fashion_mnist_available()) {
        std::cout << "Fashion-MNIST not found: skipped\n";
        return 77;
    }
    std::unique_ptr<tn::distributed::Communicator> comm;
    std::unique_ptr<tn::DataParallel> group;
    const char* transport = "one process";
    if (tn::distributed::launched_by_mpi()) {
        comm = std::make_unique<tn::distributed::Communicator>();
#if defined(TYPENET_WITH_NCCL)
        if (comm->local_size() <= static_cast<std::size_t>(devices)) {
            group = std::make_unique<tn::distributed::NcclDataParallel>(*comm);
            transport = "NCCL";
        }
#endif
        if (!group) {
            group = std::make_unique<tn::distributed::MpiDataParallel>(*comm);
            transport = "MPI, host-staged";
        }
        tn::set_data_parallel(group.get());
    }
    const std::size_t rank = comm ? comm->rank() : 0, ranks = comm ? comm->size() : 1;
    try {
        const tn::FashionMnist data = tn::load_fashion_mnist(tn::fashion_mnist_dir(), 3290, 1);
        tn::ArraySource train(data.train_images, data.train_labels, true, 7);
        tn::on<tn::cuda, FashionNet> model{42};
        auto trainer = tn::compile(model, tn::SparseCategoricalCrossentropy{}, tn::SGD{.learning_rate = 0.002f});
        const tn::History history = trainer.fit(train, {.epochs = 1, .batch_size = 33, .verbose = 0});
        if (rank == 0) {
            tn::io::save_weights(model, out);
            std::printf("%zu ranks on the GPU (%s): %llu steps, loss %.6f\n", ranks, transport,
                        static_cast<unsigned long long>(trainer.iterations()), history.loss[0]);
        }
    } catch (const std::exception& e) {
        std::cerr << "error (rank " << rank << "): " << e.what() << std::endl;
        tn::set_data_parallel(nullptr);
        if (comm && ranks > 1) MPI_Abort(comm->handle(), 1);
        return 1;
    }
    tn::set_data_parallel(nullptr);
    return 0;
}
