// A user's program: declare a network as a type, run it, print its summary.
#include <typenet/typenet.hpp>

#include <iostream>
#include <vector>

namespace tn = typenet;

using Net = tn::Sequential<tn::Input<12, 12, 1>, tn::Conv2D<8, 3, tn::ReLU>, tn::MaxPooling2D<2>, tn::Flatten,
                           tn::Dense<20, tn::ReLU>, tn::Dense<2, tn::Softmax>>;
// 8 * (9 + 1) + (200 + 1) * 20 + (20 + 1) * 2 = 80 + 4020 + 42
static_assert(Net::param_count == 4'142);

int main() {
    Net model;
    model.summary();
    std::vector<float> x(Net::input_shape::size, 0.5f), y(2);
    model.forward(x.data(), y.data(), 1, tn::Mode::infer);
    std::cout << "probabilities: " << y[0] << " " << y[1] << "\n";
    return (y[0] + y[1] > 0.999f && y[0] + y[1] < 1.001f) ? 0 : 1;
}
