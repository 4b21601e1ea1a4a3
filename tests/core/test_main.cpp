#define BOOST_TEST_MODULE typenet core
#include <boost/test/unit_test.hpp>
