// typenet/data/shard.hpp
// Which samples of an epoch one rank of a data-parallel run reads. The epoch's order is
// cut into global batches of `global_batch` samples (the last one may be shorter); rank r
// of `ranks` takes the contiguous slice [g*r/ranks, g*(r+1)/ranks) of each batch of g,
// so the slices of all ranks, in rank order, are the global batch (uneven splits differ
// by one sample at most, and a rank's slice may be empty when g < ranks).
// With `chunk` set (fixed-order gradient sums, FitOptions::reduction_chunk; `ranks` a power
// of two) the batch is cut into chunks of `chunk` samples instead, and rank r takes the
// r-th node, left to right, at depth log2(ranks) of the tree that halves a range of chunks
// [lo, hi) at lo + (hi - lo) / 2: the same tree every step's gradient sum follows, so each
// rank's slice is a subtree and the ranks' sums combine in the tree one process uses.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <vector>

namespace typenet {

struct Shard {
    std::size_t rank = 0;
    std::size_t ranks = 1;
    std::size_t global_batch = 0;  // 0: no sharding
    std::size_t chunk = 0;         // 0: even slices; else whole chunks, by the halving tree

    [[nodiscard]] bool active() const { return ranks > 1 && global_batch > 0; }
    // This rank's slice [first, last) of a global batch of g samples.
    [[nodiscard]] std::size_t first(std::size_t g) const { return chunk == 0 ? g * rank / ranks : tree_slice(g)[0]; }
    [[nodiscard]] std::size_t last(std::size_t g) const {
        return chunk == 0 ? g * (rank + 1) / ranks : tree_slice(g)[1];
    }

private:
    // Descends the halving tree over the batch's chunks, one level per halving of the ranks.
    [[nodiscard]] std::array<std::size_t, 2> tree_slice(std::size_t g) const {
        std::size_t lo = 0, hi = (g + chunk - 1) / chunk, first_rank = 0, span = ranks;
        while (span > 1) {
            const std::size_t mid = lo + (hi - lo) / 2, half = span / 2;
            if (rank < first_rank + half) hi = mid;
            else lo = mid, first_rank += half;
            span = half;
        }
        return {std::min(lo * chunk, g), std::min(hi * chunk, g)};
    }
};

// The positions (indices into an epoch's order of `count` samples) that `shard` reads, in order.
inline std::vector<std::size_t> shard_positions(std::size_t count, const Shard& shard) {
    std::vector<std::size_t> positions;
    if (!shard.active()) {
        positions.resize(count);
        for (std::size_t i = 0; i < count; ++i) positions[i] = i;
        return positions;
    }
    for (std::size_t start = 0; start < count; start += shard.global_batch) {
        const std::size_t g = count - start < shard.global_batch ? count - start : shard.global_batch;
        for (std::size_t i = shard.first(g); i < shard.last(g); ++i) positions.push_back(start + i);
    }
    return positions;
}

// The items of `order` at this shard's positions.
inline std::vector<std::size_t> shard_of(const std::vector<std::size_t>& order, const Shard& shard) {
    if (!shard.active()) return order;
    std::vector<std::size_t> mine;
    for (std::size_t position : shard_positions(order.size(), shard)) mine.push_back(order[position]);
    return mine;
}

}  // namespace typenet
