#define BOOST_TEST_MODULE typenet io
#include <boost/test/unit_test.hpp>
