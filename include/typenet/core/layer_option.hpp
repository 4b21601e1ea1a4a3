// typenet/core/layer_option.hpp
// A template argument that is either a number or a name, so that both
//   Conv2D<64, 3, ReLU, Same, "block1_conv1">   and   Conv2D<16, 3, ReLU, Valid, 2>
// read naturally: a string literal names the layer, an integer sets the stride.
#pragma once

#include <cstddef>
#include <string_view>

#include "typenet/core/fixed_string.hpp"

namespace typenet {

struct LayerOption {
    std::size_t number = 0;  // 0: not given
    FixedString text;        // "": not given

    constexpr LayerOption() : number(0), text() {}
    constexpr LayerOption(int n) : number(static_cast<std::size_t>(n)) {
        if (n <= 0) throw "typenet: a stride must be a positive integer";
    }
    constexpr LayerOption(std::size_t n) : number(n) {
        if (n == 0) throw "typenet: a stride must be a positive integer";
    }
    template <std::size_t N>
    constexpr LayerOption(const char (&name)[N]) : text(name) {}
    constexpr LayerOption(const FixedString& name) : text(name) {}
    // Both parts at once: nvcc's host-code generation writes a LayerOption template
    // argument as LayerOption{number, {chars...}}, so a .cu file needs this form.
    constexpr LayerOption(std::size_t n, const FixedString& name) : number(n), text(name) {}

    [[nodiscard]] constexpr bool is_name() const { return !text.empty(); }
    [[nodiscard]] constexpr bool is_number() const { return number != 0; }
};

// The name among a layer's options ("" when none), and its number (or a default).
// A layer checks with the counts below that each is given at most once (Conv2D, MaxPooling2D).
template <LayerOption... Options>
constexpr FixedString option_name() {
    FixedString name;
    ((Options.is_name() ? void(name = Options.text) : void()), ...);
    return name;
}
template <std::size_t Default, LayerOption... Options>
constexpr std::size_t option_number() {
    std::size_t number = Default;
    ((Options.is_number() ? void(number = Options.number) : void()), ...);
    return number;
}
// How many names and how many numbers the options give: a layer takes one of each at most.
template <LayerOption... Options>
constexpr std::size_t option_name_count() {
    return (std::size_t{0} + ... + (Options.is_name() ? 1 : 0));
}
template <LayerOption... Options>
constexpr std::size_t option_number_count() {
    return (std::size_t{0} + ... + (Options.is_number() ? 1 : 0));
}

}  // namespace typenet
