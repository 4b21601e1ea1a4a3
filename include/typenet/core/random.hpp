// typenet/core/random.hpp
// Seeded random numbers that are the same on every machine and compiler: the
// standard distributions are implementation-defined, so we draw from bits directly.
#pragma once

#include <cstdint>
#include <cmath>

#include "typenet/core/device.hpp"

namespace typenet {

// SplitMix64: a tiny, high-quality 64-bit generator (Steele, Lea, Flood 2014).
class Random {
public:
    explicit Random(std::uint64_t seed = 0) : state_(seed) {}

    std::uint64_t next_u64() {
        std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    // Uniform in [0, 1) with 24 bits, exact in float.
    float uniform() { return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f; }
    // Uniform in [low, high).
    float uniform(float low, float high) { return low + (high - low) * uniform(); }
    // Uniform in [low, high) in double precision (augmentation parameters).
    double uniform_double(double low, double high) {
        return low + (high - low) * (static_cast<double>(next_u64() >> 11) * 0x1.0p-53);
    }
    // Uniform integer in [0, n), without modulo bias worth speaking of for n << 2^64.
    std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next_u64() % n; }

    std::uint64_t state() const { return state_; }

private:
    std::uint64_t state_;
};

// A stateless hash of (seed, stream, index) to [0, 1): counter-based randomness, so
// dropout masks are the same on CPU and GPU and can be recomputed instead of stored.
TYPENET_HOST_DEVICE constexpr float hash_uniform(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
    std::uint64_t z = seed ^ (stream * 0xD1B54A32D192ED03ull) ^ (index * 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return static_cast<float>(z >> 40) * 0x1.0p-24f;
}

}  // namespace typenet
