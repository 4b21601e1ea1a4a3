// Rule: each layer option is given once; two names do not silently become the last one.
// Fixed variant: one name.
// Only the model headers: these cases are about types, and CI compiles each twice.
#include "typenet/layers/activations.hpp"
#include "typenet/layers/conv2d.hpp"
#include "typenet/layers/dense.hpp"
#include "typenet/layers/flatten.hpp"
#include "typenet/layers/input.hpp"
#include "typenet/layers/pooling.hpp"
#include "typenet/model/sequential.hpp"
namespace tn = typenet;

#ifdef TYPENET_FIXED
using Conv = tn::Conv2D<4, 3, tn::ReLU, tn::Same, "first">;
#else
using Conv = tn::Conv2D<4, 3, tn::ReLU, tn::Same, "first", "second">;
#endif

using Net = tn::Sequential<tn::Input<8, 8, 1>, Conv, tn::Flatten, tn::Dense<1, tn::Sigmoid>>;

int main() {
    Net model;
    model.summary();
}
