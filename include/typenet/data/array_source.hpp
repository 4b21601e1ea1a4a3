// typenet/data/array_source.hpp
// A batch source over arrays in memory (Keras's fit(x, y, shuffle=True)): samples in
// an xtensor with the batch axis first, labels in another. With shuffling on, each
// epoch's order is a permutation drawn from (seed, epoch).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>

#include "typenet/core/random.hpp"
#include "typenet/data/batch_source.hpp"

namespace typenet {

class ArraySource final : public BatchSource {
public:
    // x: (N, sample dims...), y: (N) or (N, label dims...). Both are copied.
    template <class X, class Y>
    ArraySource(const X& x, const Y& y, bool shuffle = false, std::uint64_t seed = 0)
        : shuffle_(shuffle), seed_(seed) {
        if (x.dimension() < 1 || y.dimension() < 1)
            throw std::invalid_argument("ArraySource: samples and labels need a batch axis");
        count_ = x.shape()[0];
        if (y.shape()[0] != count_)
            throw std::invalid_argument("ArraySource: " + std::to_string(count_) + " samples but " +
                                        std::to_string(y.shape()[0]) + " labels");
        sample_size_ = count_ == 0 ? 0 : x.size() / count_;
        label_size_ = count_ == 0 ? 0 : y.size() / count_;
        if (count_ == 0) {
            sample_size_ = 1;
            for (std::size_t i = 1; i < x.dimension(); ++i) sample_size_ *= x.shape()[i];
            label_size_ = 1;
            for (std::size_t i = 1; i < y.dimension(); ++i) label_size_ *= y.shape()[i];
        }
        x_.assign(x.begin(), x.end());
        y_.assign(y.begin(), y.end());
        order_.resize(count_);
        start_epoch(0);
    }
    // From flat vectors: count samples of sample_size floats, labels of label_size.
    ArraySource(std::vector<float> x, std::vector<float> y, std::size_t sample_size, std::size_t label_size,
                bool shuffle = false, std::uint64_t seed = 0)
        : x_(std::move(x)), y_(std::move(y)), sample_size_(sample_size), label_size_(label_size),
          shuffle_(shuffle), seed_(seed) {
        if (sample_size_ == 0 || x_.size() % sample_size_ != 0)
            throw std::invalid_argument("ArraySource: sample data is not a whole number of samples");
        count_ = x_.size() / sample_size_;
        if (y_.size() != count_ * label_size_)
            throw std::invalid_argument("ArraySource: " + std::to_string(count_) + " samples but " +
                                        std::to_string(label_size_ ? y_.size() / label_size_ : 0) + " labels");
        order_.resize(count_);
        start_epoch(0);
    }

    std::size_t size() const override { return count_; }
    std::size_t sample_size() const override { return sample_size_; }
    std::size_t label_size() const override { return label_size_; }

    void start_epoch(std::uint64_t epoch) override {
        order_.resize(count_);  // a shard's epoch left only its part
        std::iota(order_.begin(), order_.end(), std::size_t{0});
        if (shuffle_) {  // Fisher-Yates with our portable generator
            Random rng(seed_ * 0x9E3779B97F4A7C15ull + epoch + 1);
            for (std::size_t i = count_; i > 1; --i) std::swap(order_[i - 1], order_[rng.below(i)]);
        }
        if (shard_.active()) order_ = shard_of(order_, shard_);
        cursor_ = 0;
    }

    bool set_shard(const Shard& shard) override {
        shard_ = shard;
        return true;
    }

    std::size_t next_batch(float* x, float* y, std::size_t max_batch) override {
        const std::size_t n = std::min(max_batch, order_.size() - cursor_);
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t s = order_[cursor_ + i];
            std::memcpy(x + i * sample_size_, x_.data() + s * sample_size_, sample_size_ * sizeof(float));
            std::memcpy(y + i * label_size_, y_.data() + s * label_size_, label_size_ * sizeof(float));
        }
        cursor_ += n;
        return n;
    }

    // The permutation of the current epoch (for tests and reproducibility checks).
    const std::vector<std::size_t>& order() const { return order_; }

private:
    std::vector<float> x_, y_;
    std::size_t count_ = 0, sample_size_ = 0, label_size_ = 0;
    bool shuffle_ = false;
    std::uint64_t seed_ = 0;
    std::vector<std::size_t> order_;
    std::size_t cursor_ = 0;
    Shard shard_;
};

}  // namespace typenet
