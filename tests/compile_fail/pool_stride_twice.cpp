// Rule: each layer option is given once; two strides do not silently become the last one.
// Fixed variant: one stride.
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
using Pool = tn::MaxPooling2D<2, 3>;
#else
using Pool = tn::MaxPooling2D<2, 3, 1>;
#endif

using Net = tn::Sequential<tn::Input<8, 8, 1>, Pool, tn::Flatten, tn::Dense<1, tn::Sigmoid>>;

int main() {
    Net model;
    model.summary();
}
