// examples/common/distributed.hpp
// Every example program trains data-parallel when started by `mpirun -np N` (and built
// with typenet::mpi): the same flags, --batch-size is the global batch, and each rank gets
// cores / (ranks on its host) CPU threads unless --threads says otherwise. Rank 0 prints
// and writes the output folder; the other ranks print nothing on stdout and write their
// copies of the files under a private scratch folder (seeded from the output folder, so
// what earlier steps saved can be read back), removed at exit.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#if defined(TYPENET_WITH_MPI)
#include <unistd.h>

#include "typenet/distributed/session.hpp"
#endif

namespace examples {

#if defined(TYPENET_WITH_MPI)
class DistributedRun {
public:
    DistributedRun() {
        if (session_.rank() != 0) std::freopen("/dev/null", "w", stdout);  // rank 0 speaks for all
    }
    ~DistributedRun() {
        std::error_code ignored;
        if (!scratch_.empty()) std::filesystem::remove_all(scratch_, ignored);
    }
    [[nodiscard]] std::size_t rank() const { return session_.rank(); }
    [[nodiscard]] std::size_t size() const { return session_.size(); }

    // Where this rank writes `out`: `out` itself on rank 0, a private copy elsewhere.
    std::filesystem::path output(const std::filesystem::path& out) {
        if (session_.rank() == 0) return out;
        namespace fs = std::filesystem;
        if (scratch_.empty())
            scratch_ = fs::temp_directory_path() /
                       ("typenet-rank" + std::to_string(session_.rank()) + "-" + std::to_string(::getpid()));
        const fs::path mine = scratch_ / std::to_string(copies_++);
        fs::create_directories(mine);
        std::error_code ignored;
        if (fs::is_directory(out, ignored))
            fs::copy(out, mine, fs::copy_options::recursive | fs::copy_options::overwrite_existing, ignored);
        return mine;
    }
    // An error only this rank may have: stop every rank rather than leave them waiting.
    void abort_all(int code) { session_.abort_all(code); }

private:
    typenet::distributed::Session session_;
    std::filesystem::path scratch_;
    int copies_ = 0;
};
#else
class DistributedRun {  // built without MPI: one process
public:
    [[nodiscard]] std::size_t rank() const { return 0; }
    [[nodiscard]] std::size_t size() const { return 1; }
    std::filesystem::path output(const std::filesystem::path& out) { return out; }
    void abort_all(int) {}
};
#endif

// The program's one run; the first call (CommandLine's constructor) starts MPI under mpirun.
inline DistributedRun& distributed() {
    static DistributedRun run;
    return run;
}

}  // namespace examples
