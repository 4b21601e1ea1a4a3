#define BOOST_TEST_MODULE typenet train
#include <boost/test/unit_test.hpp>
