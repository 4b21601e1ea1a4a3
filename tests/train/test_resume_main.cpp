#define BOOST_TEST_MODULE typenet resume
#include <boost/test/unit_test.hpp>
