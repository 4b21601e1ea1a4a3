// typenet/distributed/communicator.hpp
// A thin owner of an MPI communicator for data-parallel training (typenet::mpi):
// initialises MPI (MPI_Init_thread, funneled) unless the program already did, and makes
// MPI errors return instead of abort, so that a failed call becomes an exception that
// names the operation (a peer that died, a broken link) rather than a silent exit.
#pragma once

#include <mpi.h>

#include <cstddef>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

namespace typenet::distributed {

class MpiError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Throws MpiError("MPI_Allreduce (the gradients) failed: <MPI's text>") unless code is MPI_SUCCESS.
inline void check_mpi(int code, std::string_view operation, std::string_view what = {}) {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
    throw MpiError(std::string(operation) + (what.empty() ? "" : " (" + std::string(what) + ")") +
                   " failed: " + (length ? std::string(text, static_cast<std::size_t>(length)) : "MPI error " +
                                                                                                  std::to_string(code)));
}

class Communicator {
public:
    // MPI_COMM_WORLD, initialising MPI if needed (then finalised by the destructor).
    Communicator() {
        int initialised = 0;
        MPI_Initialized(&initialised);
        if (!initialised) {
            int provided = 0;
            check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
            owns_mpi_ = true;
        }
        check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
        check_mpi(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
        int rank = 0, size = 1;
        check_mpi(MPI_Comm_rank(comm_, &rank), "MPI_Comm_rank");
        check_mpi(MPI_Comm_size(comm_, &size), "MPI_Comm_size");
        rank_ = static_cast<std::size_t>(rank);
        size_ = static_cast<std::size_t>(size);
        // The ranks on this host share its cores (and GPUs): their count and our place among them.
        MPI_Comm local;
        check_mpi(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &local),
                  "MPI_Comm_split_type", "the ranks on this host");
        int local_rank = 0, local_size = 1;
        MPI_Comm_rank(local, &local_rank);
        MPI_Comm_size(local, &local_size);
        MPI_Comm_free(&local);
        local_rank_ = static_cast<std::size_t>(local_rank);
        local_size_ = static_cast<std::size_t>(local_size);
    }
    ~Communicator() {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (finalized) return;
        MPI_Comm_free(&comm_);
        if (owns_mpi_) MPI_Finalize();
    }
    Communicator(const Communicator&) = delete;
    Communicator& operator=(const Communicator&) = delete;

    [[nodiscard]] MPI_Comm handle() const { return comm_; }
    [[nodiscard]] std::size_t rank() const { return rank_; }
    [[nodiscard]] std::size_t size() const { return size_; }
    [[nodiscard]] std::size_t local_rank() const { return local_rank_; }
    [[nodiscard]] std::size_t local_size() const { return local_size_; }

private:
    MPI_Comm comm_ = MPI_COMM_NULL;
    bool owns_mpi_ = false;
    std::size_t rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
};

// Whether this process was started by an MPI launcher (mpirun, srun with PMI): only then
// does a program that can train data-parallel initialise MPI.
inline bool launched_by_mpi() {
    for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
        if (std::getenv(name) != nullptr) return true;
    return false;
}

}  // namespace typenet::distributed
