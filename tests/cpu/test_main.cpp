#define BOOST_TEST_MODULE typenet cpu kernels
#include <boost/test/unit_test.hpp>
