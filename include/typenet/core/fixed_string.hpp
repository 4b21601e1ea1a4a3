// typenet/core/fixed_string.hpp
// A short string usable as a template argument (C++20 class-type NTTP), so that
// layer names such as "block1_conv1" live in the type and are known at compile time.
#pragma once

#include <cstddef>
#include <string_view>

namespace typenet {

struct FixedString {
    static constexpr std::size_t capacity = 64;  // including the terminating '\0'

    char chars[capacity] = {};

    // For readable diagnostics only (the value is the same either way): every writer marks
    // the end first. clang keeps in a constant array only the elements written so far (at
    // least 8) and prints a template argument as "block1_conv1" only when they end with one
    // '\0', else as character codes (so names under 7 characters still print as codes);
    // GCC would print a written '\0' as "\000", so there the zero-initialised end stays.
    constexpr void mark_end([[maybe_unused]] std::size_t at) {
#if defined(__clang__)
        chars[at] = '\0';
#endif
    }

    constexpr FixedString() : chars{} {}
    template <std::size_t N>
    constexpr FixedString(const char (&text)[N]) {
        static_assert(N <= capacity, "typenet: a name may have at most 63 characters");
        mark_end(N - 1);
        for (std::size_t i = 0; i < N; ++i) chars[i] = text[i];
    }
    constexpr explicit FixedString(std::string_view text) {
        if (text.size() >= capacity) throw "typenet: a name may have at most 63 characters";
        mark_end(text.size());
        for (std::size_t i = 0; i < text.size(); ++i) chars[i] = text[i];
    }

    [[nodiscard]] constexpr std::size_t size() const {
        std::size_t n = 0;
        while (n < capacity && chars[n] != '\0') ++n;
        return n;
    }
    [[nodiscard]] constexpr bool empty() const { return chars[0] == '\0'; }
    [[nodiscard]] constexpr std::string_view view() const { return {chars, size()}; }
    constexpr operator std::string_view() const { return view(); }

    friend constexpr bool operator==(const FixedString&, const FixedString&) = default;
};

// "conv2d" + 3 -> "conv2d_3": Keras's automatic layer names, made by the compiler.
constexpr FixedString indexed_name(std::string_view prefix, std::size_t number) {
    char digits[20] = {};
    std::size_t count = 0;
    do {
        digits[count++] = static_cast<char>('0' + number % 10);
        number /= 10;
    } while (number != 0);
    FixedString out;
    out.mark_end(prefix.size() + 1 + count);
    std::size_t at = 0;
    for (char c : prefix) out.chars[at++] = c;
    out.chars[at++] = '_';
    while (count != 0) out.chars[at++] = digits[--count];
    return out;
}

// "block" + "1" + "_conv" + "2" style concatenation, at compile time.
template <class... Parts>
constexpr FixedString concat(const Parts&... parts) {
    const std::size_t size = (std::size_t{0} + ... + std::string_view(parts).size());
    if (size >= FixedString::capacity) throw "typenet: a name may have at most 63 characters";
    FixedString out;
    out.mark_end(size);
    std::size_t at = 0;
    auto append = [&](std::string_view part) {
        for (char c : part) out.chars[at++] = c;
    };
    (append(std::string_view(parts)), ...);
    return out;
}

constexpr FixedString number_text(std::size_t number) {
    const FixedString digits = indexed_name("", number);  // "_<n>"
    return FixedString(digits.view().substr(1));
}

}  // namespace typenet
