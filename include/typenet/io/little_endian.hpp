// typenet/io/little_endian.hpp
// Turning the raw little-endian numbers of a file into floats and back. Both
// safetensors and .npy store little-endian data; on a little-endian host (every
// machine typenet targets) float32 is a plain copy, elsewhere bytes are swapped.
#pragma once

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace typenet::io::detail {

template <class T>
T load_little_endian(const unsigned char* bytes) {
    unsigned char ordered[sizeof(T)];
    if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(ordered, bytes, sizeof(T));
    } else {
        for (std::size_t i = 0; i < sizeof(T); ++i) ordered[i] = bytes[sizeof(T) - 1 - i];
    }
    T value;
    std::memcpy(&value, ordered, sizeof(T));
    return value;
}

// IEEE 754 binary16 to float (exact: every half is a float).
inline float float_from_f16(std::uint16_t half) {
    const std::uint32_t sign = static_cast<std::uint32_t>(half & 0x8000u) << 16;
    const std::uint32_t exponent = (half >> 10) & 0x1fu;
    const std::uint32_t mantissa = half & 0x3ffu;
    std::uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) return std::bit_cast<float>(sign);  // +-0
        const float subnormal = std::ldexp(static_cast<float>(mantissa), -24);
        return sign ? -subnormal : subnormal;
    }
    if (exponent == 31) {
        bits = sign | 0x7f800000u | (mantissa << 13);  // inf, NaN (payload kept)
    } else {
        bits = sign | ((exponent + (127 - 15)) << 23) | (mantissa << 13);
    }
    return std::bit_cast<float>(bits);
}

// bfloat16 is the top half of a float.
inline float float_from_bf16(std::uint16_t bits) { return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16); }

// `count` little-endian numbers of type T (or half types, by their tag) to floats.
enum class Element { f16, bf16, f32, f64, i32, i64, u8 };

inline std::size_t element_size(Element type) {
    switch (type) {
        case Element::f16:
        case Element::bf16: return 2;
        case Element::f32:
        case Element::i32: return 4;
        case Element::f64:
        case Element::i64: return 8;
        case Element::u8: return 1;
    }
    return 0;
}

inline void decode_to_float(Element type, const unsigned char* bytes, std::size_t count, float* out) {
    switch (type) {
        case Element::f32:
            if constexpr (std::endian::native == std::endian::little) {
                if (count != 0) std::memcpy(out, bytes, count * sizeof(float));
            } else {
                for (std::size_t i = 0; i < count; ++i) out[i] = load_little_endian<float>(bytes + 4 * i);
            }
            return;
        case Element::f16:
            for (std::size_t i = 0; i < count; ++i) out[i] = float_from_f16(load_little_endian<std::uint16_t>(bytes + 2 * i));
            return;
        case Element::bf16:
            for (std::size_t i = 0; i < count; ++i) out[i] = float_from_bf16(load_little_endian<std::uint16_t>(bytes + 2 * i));
            return;
        case Element::f64:
            for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<float>(load_little_endian<double>(bytes + 8 * i));
            return;
        case Element::i32:
            for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<float>(load_little_endian<std::int32_t>(bytes + 4 * i));
            return;
        case Element::i64:
            for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<float>(load_little_endian<std::int64_t>(bytes + 8 * i));
            return;
        case Element::u8:
            for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<float>(bytes[i]);
            return;
    }
}

// Floats as little-endian float32 bytes, into anything with write(const void*, bytes)
// (an AtomicFile): straight from memory on a little-endian host.
template <class Sink>
void write_f32_little_endian(Sink& sink, const float* values, std::size_t count) {
    if constexpr (std::endian::native == std::endian::little) {
        if (count != 0) sink.write(values, count * sizeof(float));
    } else {
        unsigned char bytes[4];
        for (std::size_t i = 0; i < count; ++i) {
            const auto bits = std::bit_cast<std::uint32_t>(values[i]);
            for (std::size_t b = 0; b < 4; ++b) bytes[b] = static_cast<unsigned char>((bits >> (8 * b)) & 0xffu);
            sink.write(bytes, 4);
        }
    }
}

// A little-endian unsigned integer of `width` bytes (header lengths), appended to a string.
template <class Bytes>
void append_unsigned_little_endian(Bytes& out, std::uint64_t value, std::size_t width) {
    for (std::size_t b = 0; b < width; ++b) out.push_back(static_cast<char>((value >> (8 * b)) & 0xffu));
}

}  // namespace typenet::io::detail
