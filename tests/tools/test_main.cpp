#define BOOST_TEST_MODULE typenet tools
#include <boost/test/unit_test.hpp>
