// typenet/data/epoch_order.hpp
// The order of an epoch's samples: a permutation drawn from (seed, epoch) when shuffling,
// the identity otherwise. The same formula as ArraySource, from the portable generator,
// so an epoch's order is the same on every machine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "typenet/core/random.hpp"

namespace typenet {

inline std::vector<std::size_t> epoch_permutation(std::size_t count, bool shuffle, std::uint64_t seed,
                                                  std::uint64_t epoch) {
    std::vector<std::size_t> order(count);
    std::iota(order.begin(), order.end(), std::size_t{0});
    if (shuffle) {  // Fisher-Yates
        Random rng(seed * 0x9E3779B97F4A7C15ull + epoch + 1);
        for (std::size_t i = count; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
    }
    return order;
}

}  // namespace typenet
