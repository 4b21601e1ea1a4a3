// Rule: a 'valid' convolution's kernel must fit in its input. Fixed variant: kernel 3.
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
constexpr std::size_t kernel = 3;
#else
constexpr std::size_t kernel = 7;  // the input here is 5x5
#endif

using Net = tn::Sequential<tn::Input<12, 12, 1>, tn::Conv2D<8, 3, tn::ReLU>, tn::MaxPooling2D<2>,
                           tn::Conv2D<8, kernel, tn::ReLU>, tn::Conv2D<4, 1, tn::ReLU>, tn::Flatten,
                           tn::Dense<1, tn::Sigmoid>>;

int main() {
    Net model;
    model.summary();
}
