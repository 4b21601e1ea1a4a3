// typenet/distributed/session.hpp
// One object turns a program's training data-parallel when it runs under an MPI launcher:
//
//   typenet::distributed::Session session;   // first thing in main()
//   ... tn::compile(model, ...).fit(...) as before ...
//
// Under `mpirun -np N` it initialises MPI, makes Trainer::fit/evaluate data-parallel over
// the N ranks (train/data_parallel.hpp), and gives each rank cores / (ranks on this host)
// CPU threads, as the ranks on one machine share its cores (a later set_cpu_threads, e.g.
// a --threads flag, still wins). Started without a launcher, it does nothing at all.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <thread>

#include "typenet/backend/cpu/parallel.hpp"
#include "typenet/distributed/communicator.hpp"
#include "typenet/distributed/mpi_data_parallel.hpp"
#include "typenet/train/data_parallel.hpp"

namespace typenet::distributed {

class Session {
public:
    // force: initialise MPI even without a launcher's environment (a single rank).
    explicit Session(bool force = false) {
        if (!force && !launched_by_mpi()) return;
        comm_ = std::make_unique<Communicator>();
        group_ = std::make_unique<MpiDataParallel>(*comm_);
        const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
        set_cpu_threads(static_cast<int>(std::max<std::size_t>(1, cores / comm_->local_size())));
        set_data_parallel(group_.get());
    }
    ~Session() {
        if (group_ && active_data_parallel_slot() == group_.get()) set_data_parallel(nullptr);
    }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    [[nodiscard]] bool active() const { return comm_ != nullptr; }
    [[nodiscard]] std::size_t rank() const { return comm_ ? comm_->rank() : 0; }
    [[nodiscard]] std::size_t size() const { return comm_ ? comm_->size() : 1; }
    [[nodiscard]] bool leader() const { return rank() == 0; }
    [[nodiscard]] Communicator* communicator() { return comm_.get(); }
    // Ends every rank now (MPI_Abort), for an error only this rank has: returning from
    // main would leave the others waiting in a collective. A no-op without MPI.
    void abort_all(int code) {
        if (comm_ && comm_->size() > 1) MPI_Abort(comm_->handle(), code);
    }
    [[nodiscard]] MpiDataParallel* group() { return group_.get(); }

private:
    std::unique_ptr<Communicator> comm_;
    std::unique_ptr<MpiDataParallel> group_;
};

}  // namespace typenet::distributed
