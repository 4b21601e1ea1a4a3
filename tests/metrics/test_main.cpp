#define BOOST_TEST_MODULE typenet metrics and plots
#include <boost/test/unit_test.hpp>
