#define BOOST_TEST_MODULE typenet data
#include <boost/test/unit_test.hpp>
