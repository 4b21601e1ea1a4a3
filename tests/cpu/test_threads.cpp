// The CPU thread pool and the split GEMM: every task runs exactly once, on a valid slot;
// jobs posted from inside a job or from two user threads at once run correctly; the
// thread count can change; a GEMM split over threads equals the single-threaded one for
// every transpose combination.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "reference.hpp"
#include "typenet/backend/cpu/kernels.hpp"

namespace tn = typenet;
namespace ck = typenet::cpu_kernels;

BOOST_AUTO_TEST_CASE(every_task_runs_once_on_a_valid_slot) {
    for (int threads : {1, 2, 3}) {
        tn::set_cpu_threads(threads);
        BOOST_TEST(tn::cpu_threads() == threads);
        std::vector<std::atomic<int>> runs(1000);
        std::atomic<bool> bad_slot{false};
        tn::parallel_tasks(runs.size(), [&](std::size_t task, unsigned slot) {
            if (slot >= static_cast<unsigned>(threads)) bad_slot = true;
            ++runs[task];
        });
        BOOST_TEST(!bad_slot.load());
        for (auto& r : runs) BOOST_TEST(r.load() == 1);
    }
    tn::set_cpu_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

BOOST_AUTO_TEST_CASE(nested_and_concurrent_jobs_complete) {
    std::atomic<long> total{0};
    tn::parallel_tasks(8, [&](std::size_t, unsigned) {
        tn::parallel_for(100, [&](std::size_t i) { total += static_cast<long>(i); }, 1 << 20);
    });
    BOOST_TEST(total.load() == 8 * 4950);

    std::atomic<long> a{0}, b{0};
    std::thread other([&] {
        for (int r = 0; r < 200; ++r) tn::parallel_tasks(16, [&](std::size_t t, unsigned) { a += long(t); });
    });
    for (int r = 0; r < 200; ++r) tn::parallel_tasks(16, [&](std::size_t t, unsigned) { b += long(t); });
    other.join();
    BOOST_TEST(a.load() == 200 * 120);
    BOOST_TEST(b.load() == 200 * 120);
}

BOOST_AUTO_TEST_CASE(split_gemm_equals_single_threaded_gemm) {
    struct Shape {
        std::size_t m, n, k;
    };
    for (const Shape s : {Shape{301, 45, 67}, Shape{17, 530, 129}, Shape{64, 64, 600}}) {
        for (bool ta : {false, true})
            for (bool tb : {false, true}) {
                const auto a = cpu_test::random_values(s.m * s.k, 1), b = cpu_test::random_values(s.k * s.n, 2);
                auto c1 = cpu_test::random_values(s.m * s.n, 3);
                auto c2 = c1;
                const std::size_t lda = ta ? s.m : s.k, ldb = tb ? s.k : s.n;
                ck::gemm(ta, tb, s.m, s.n, s.k, 0.5f, a.data(), lda, b.data(), ldb, 0.25f, c1.data(), s.n);
                ck::gemm_serial(ta, tb, s.m, s.n, s.k, 0.5f, a.data(), lda, b.data(), ldb, 0.25f, c2.data(), s.n);
                BOOST_TEST_INFO(s.m << "x" << s.n << "x" << s.k << " trans " << ta << tb);
                BOOST_TEST(cpu_test::relative_error(c1, c2) < 1e-6);
            }
    }
}
