// Rule: a Dropout rate lies in [0, 1). Fixed variant: 0.3.
#include "typenet/typenet.hpp"
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
