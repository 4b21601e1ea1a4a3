// Rule: a Dropout rate lies in [0, 1). Fixed variant: 0.3.
// Only the model headers: these cases are about types, and CI compiles each twice.
#include "typenet/layers/activations.hpp"
#include "typenet/layers/conv2d.hpp"
#include "typenet/layers/dense.hpp"
#include "typenet/layers/dropout.hpp"
#include "typenet/layers/flatten.hpp"
#include "typenet/layers/input.hpp"
#include "typenet/layers/pooling.hpp"
#include "typenet/model/sequential.hpp"
namespace tn = typenet;

#ifdef TYPENET_FIXED
constexpr float rate = 0.3f;
#else
constexpr float rate = 1.0f;
#endif

using Net = tn::Sequential<tn::Input<16>, tn::Dense<8, tn::ReLU>, tn::Dropout<rate>, tn::Dense<1, tn::Sigmoid>>;

int main() {
    Net model;
    model.summary();
}
