// Main of test_fashion_mnist, the cases that need the installed Fashion-MNIST files. Without
// them the program exits 77, which ctest reports as Skipped (SKIP_RETURN_CODE): a missing
// data set must never show as Passed.
#define BOOST_TEST_MODULE typenet fashion-mnist
#define BOOST_TEST_NO_MAIN
#include <boost/test/unit_test.hpp>

#include <iostream>

#include "typenet/data/idx.hpp"

int main(int argc, char* argv[]) {
    if (!typenet::fashion_mnist_available()) {
        std::cout << "Fashion-MNIST is not installed in " << typenet::fashion_mnist_dir().string()
                  << " (Debian package dataset-fashion-mnist, or set TYPENET_FASHION_MNIST): skipped\n";
        return 77;
    }
    return boost::unit_test::unit_test_main(&init_unit_test, argc, argv);
}
