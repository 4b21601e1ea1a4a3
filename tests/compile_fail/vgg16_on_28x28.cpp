// Rule: a VGG-16 base needs at least 32x32 (five 2x2 pools). Fixed variant: 32x32.
// Only the model headers: these cases are about types, and CI compiles each twice.
#include "typenet/layers/activations.hpp"
#include "typenet/layers/conv2d.hpp"
#include "typenet/layers/dense.hpp"
#include "typenet/layers/dropout.hpp"
#include "typenet/layers/flatten.hpp"
#include "typenet/layers/input.hpp"
#include "typenet/layers/pooling.hpp"
#include "typenet/model/sequential.hpp"
#include "typenet/zoo/vgg.hpp"
namespace tn = typenet;

#ifdef TYPENET_FIXED
constexpr std::size_t side = 32;
#else
constexpr std::size_t side = 28;
#endif

// Nested, as the chapter uses it: Sequential[vgg, Flatten, Dense...].
using Net = tn::Sequential<tn::Input<side, side, 3>, tn::zoo::VGG16Base<side, side>, tn::Flatten,
                           tn::Dense<1, tn::Sigmoid>>;

int main() {
    Net model;
    model.summary();
}
