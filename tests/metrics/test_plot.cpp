// Plot tests: written with the plot headers (next commit).
#include <boost/test/unit_test.hpp>
