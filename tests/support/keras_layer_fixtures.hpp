// tests/support/keras_layer_fixtures.hpp
// The single-layer fixtures Keras wrote (tests/fixtures/layers/<case>.safetensors) and the
// tolerance every parity test compares against them with.
#pragma once

#include <cmath>
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "typenet/io/safetensors.hpp"

namespace typenet_test {

// The case's tensors by name (input, kernel, output, grad_input, ...).
inline std::map<std::string, typenet::io::TensorData> load_layer_case(const std::string& name) {
    std::map<std::string, typenet::io::TensorData> tensors;
    for (auto& t : typenet::io::read_safetensors(std::string(TYPENET_FIXTURES_DIR) + "/layers/" + name + ".safetensors"))
        tensors[t.name] = std::move(t);
    return tensors;
}

// Within 1e-5 absolute plus 1e-4 relative of Keras's values; a NaN never passes.
inline void expect_close_to_keras(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
    BOOST_REQUIRE_EQUAL(got.size(), want.size());
    std::size_t bad = 0;
    for (std::size_t i = 0; i < got.size(); ++i)
        if (!(std::abs(got[i] - want[i]) <= 1e-5f + 1e-4f * std::abs(want[i])) && bad++ < 5)
            BOOST_ERROR(what << "[" << i << "]: typenet " << got[i] << ", Keras " << want[i]);
    BOOST_TEST(bad == 0u, what << ": " << bad << " values differ from Keras");
}

}  // namespace typenet_test
