// Shards (data/shard.hpp): each rank of a data-parallel run reads only its slice of every
// global batch, and the slices of all ranks, in rank order, are exactly what one process
// reads, augmentation included (transforms come from (seed, epoch, item), not from who
// makes them). Uneven splits differ by one sample; a rank's slice may be empty.
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <vector>

#include <xtensor/xarray.hpp>

#include "synthetic_folder.hpp"
#include "typenet/data/array_source.hpp"
#include "typenet/data/image_array_source.hpp"
#include "typenet/data/image_folder_source.hpp"
#include "typenet/data/image_set.hpp"
#include "typenet/data/shard.hpp"
#include "chapter5/augmentation.hpp"  // examples/: the book's augmentation

namespace tn = typenet;

namespace {
struct Samples {
    std::vector<float> x, y;
};

// Global batch by global batch: the slices of ranks 0..ranks-1 read one after another.
Samples read_sharded(std::vector<tn::BatchSource*> ranks, std::size_t global_batch, std::uint64_t epoch,
                     std::size_t chunk = 0) {
    for (std::size_t r = 0; r < ranks.size(); ++r) {
        BOOST_REQUIRE(ranks[r]->set_shard({r, ranks.size(), global_batch, chunk}));
        ranks[r]->start_epoch(epoch);
    }
    const std::size_t size = ranks[0]->size(), sx = ranks[0]->sample_size(), sy = ranks[0]->label_size();
    Samples all;
    std::vector<float> x(global_batch * sx), y(global_batch * sy);
    for (std::size_t start = 0; start < size; start += global_batch) {
        const std::size_t g = std::min(global_batch, size - start);
        for (std::size_t r = 0; r < ranks.size(); ++r) {
            const tn::Shard shard{r, ranks.size(), global_batch, chunk};
            const std::size_t want = shard.last(g) - shard.first(g);
            BOOST_REQUIRE_EQUAL(ranks[r]->next_batch(x.data(), y.data(), want), want);
            all.x.insert(all.x.end(), x.begin(), x.begin() + want * sx);
            all.y.insert(all.y.end(), y.begin(), y.begin() + want * sy);
        }
    }
    for (tn::BatchSource* source : ranks) BOOST_CHECK_EQUAL(source->next_batch(x.data(), y.data(), 1), 0u);
    return all;
}

Samples read_all(tn::BatchSource& source, std::uint64_t epoch) {
    source.start_epoch(epoch);
    Samples all;
    std::vector<float> x(7 * source.sample_size()), y(7 * source.label_size());
    while (std::size_t n = source.next_batch(x.data(), y.data(), 7)) {
        all.x.insert(all.x.end(), x.begin(), x.begin() + n * source.sample_size());
        all.y.insert(all.y.end(), y.begin(), y.begin() + n * source.label_size());
    }
    return all;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(shards)

BOOST_AUTO_TEST_CASE(slices_split_every_global_batch_evenly_and_in_order) {
    // 23 samples, global batch 10, 3 ranks: batches of 10, 10, 3 split 3/3/4, 3/3/4, 1/1/1.
    std::vector<std::size_t> seen;
    for (std::size_t r = 0; r < 3; ++r) {
        const auto mine = tn::shard_positions(23, {r, 3, 10});
        BOOST_CHECK_EQUAL(mine.size(), r == 2 ? 9u : 7u);
        seen.insert(seen.end(), mine.begin(), mine.end());
    }
    std::sort(seen.begin(), seen.end());
    for (std::size_t i = 0; i < seen.size(); ++i) BOOST_REQUIRE_EQUAL(seen[i], i);
    BOOST_CHECK_EQUAL(seen.size(), 23u);
    // Rank 0 of 4 on a last batch of 3 samples gets none of it.
    const auto first = tn::shard_positions(13, {0, 4, 10});
    BOOST_CHECK_EQUAL(first.size(), 2u);  // [0, 2) of the first batch, nothing of the last
    // One rank, or no global batch: everything.
    BOOST_CHECK_EQUAL(tn::shard_positions(5, {0, 1, 2}).size(), 5u);
}

BOOST_AUTO_TEST_CASE(array_source_shards_are_the_one_process_epoch) {
    xt::xarray<float> x = xt::xarray<float>::from_shape({41, 3});
    xt::xarray<float> y = xt::xarray<float>::from_shape({41});
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(i);
    for (std::size_t i = 0; i < y.size(); ++i) y.data()[i] = static_cast<float>(i % 5);
    tn::ArraySource one(x, y, true, 11), r0(x, y, true, 11), r1(x, y, true, 11), r2(x, y, true, 11);
    for (std::uint64_t epoch : {0, 1, 3}) {
        const Samples whole = read_all(one, epoch), split = read_sharded({&r0, &r1, &r2}, 8, epoch);
        BOOST_CHECK(whole.x == split.x);
        BOOST_CHECK(whole.y == split.y);
    }
    // Unsharded again: the whole epoch.
    r0.set_shard({});
    BOOST_CHECK(read_all(r0, 1).x == read_all(one, 1).x);
}

// Fixed-order gradient sums (Shard::chunk): rank r's slice must be the r-th node at depth
// log2(ranks) of the tree that halves chunk ranges [lo, hi) at lo + (hi - lo) / 2, in
// whole chunks, so that each rank's gradient is a subtree of one process's sum.
namespace {
void halving_nodes(std::size_t lo, std::size_t hi, std::size_t depth, std::vector<std::size_t>& bounds) {
    if (depth == 0) {
        bounds.push_back(hi);
        return;
    }
    halving_nodes(lo, lo + (hi - lo) / 2, depth - 1, bounds);
    halving_nodes(lo + (hi - lo) / 2, hi, depth - 1, bounds);
}
}  // namespace

BOOST_AUTO_TEST_CASE(chunked_slices_are_the_nodes_of_the_halving_tree) {
    for (std::size_t chunk : {1u, 4u, 16u})
        for (std::size_t depth : {0u, 1u, 2u, 3u})
            for (std::size_t g = 1; g <= 70; ++g) {
                const std::size_t ranks = std::size_t{1} << depth, chunks = (g + chunk - 1) / chunk;
                std::vector<std::size_t> ends;
                halving_nodes(0, chunks, depth, ends);
                std::size_t expected_first = 0;
                for (std::size_t r = 0; r < ranks; ++r) {
                    const tn::Shard shard{r, ranks, g, chunk};
                    BOOST_TEST_CONTEXT("g " << g << ", chunk " << chunk << ", rank " << r << " of " << ranks) {
                        BOOST_CHECK_EQUAL(shard.first(g), expected_first);
                        BOOST_CHECK_EQUAL(shard.last(g), std::min(ends[r] * chunk, g));
                        BOOST_CHECK_EQUAL(shard.first(g) % chunk, 0u);  // whole chunks
                    }
                    expected_first = std::min(ends[r] * chunk, g);
                }
                BOOST_CHECK_EQUAL(expected_first, g);  // the slices cover the batch
            }
    // 33 = 16 + 16 + 1 over 2 ranks: chunks [0, 1) and [1, 3), 16 and 17 samples; the last
    // batch of 23 splits 16 / 7, not evenly.
    BOOST_CHECK_EQUAL((tn::Shard{1, 2, 33, 16}.first(33)), 16u);
    BOOST_CHECK_EQUAL((tn::Shard{1, 2, 33, 16}.first(23)), 16u);
    // A source reads the chunked slices; together they are the one-process epoch.
    xt::xarray<float> x = xt::xarray<float>::from_shape({41, 3});
    xt::xarray<float> y = xt::xarray<float>::from_shape({41});
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(i);
    for (std::size_t i = 0; i < y.size(); ++i) y.data()[i] = static_cast<float>(i % 5);
    tn::ArraySource one(x, y, true, 3), r0(x, y, true, 3), r1(x, y, true, 3), r2(x, y, true, 3), r3(x, y, true, 3);
    const Samples whole = read_all(one, 2), split = read_sharded({&r0, &r1, &r2, &r3}, 12, 2, 5);
    BOOST_CHECK(whole.x == split.x);
    BOOST_CHECK(whole.y == split.y);
}

BOOST_AUTO_TEST_CASE(augmented_shards_draw_the_one_process_transforms) {
    const auto raw = tn::load_image_set(test_data::kaggle_folder(), {.size = {12, 14, 3}, .rescale = 1, .log = nullptr});
    const tn::ImageArrayOptions options{.generator = chapter5::training_augmentation(), .seed = 5, .workers = 2, .prefetch = 8};
    tn::ImageArraySource one(raw.images, raw.labels, options), r0(raw.images, raw.labels, options),
        r1(raw.images, raw.labels, options);
    const Samples whole = read_all(one, 2), split = read_sharded({&r0, &r1}, 31, 2);
    BOOST_CHECK_EQUAL(whole.y.size(), raw.labels.size());
    BOOST_CHECK(whole.x == split.x);
    BOOST_CHECK(whole.y == split.y);
}

BOOST_AUTO_TEST_CASE(folder_shards_read_only_their_files) {
    tn::ImageFolderOptions o;
    o.size = {12, 14, 3};
    o.generator = chapter5::training_augmentation();
    o.seed = 4;
    o.workers = 1;
    o.log = nullptr;
    tn::ImageFolderSource one(test_data::kaggle_folder(), o), r0(test_data::kaggle_folder(), o),
        r1(test_data::kaggle_folder(), o);
    const Samples whole = read_all(one, 1), split = read_sharded({&r0, &r1}, 20, 1);
    BOOST_CHECK(whole.x == split.x);
    BOOST_CHECK(whole.y == split.y);
    BOOST_CHECK_LT(r0.order().size(), one.order().size());  // rank 0 made only its half
}

BOOST_AUTO_TEST_SUITE_END()
