// Rule: a VGG-16 base needs at least 32x32 (five 2x2 pools). Fixed variant: 32x32.
#include "typenet/typenet.hpp"
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
