// After the first batch, training allocates nothing: every global operator new in this
// executable is counted while steps run (train_on_batch with each optimizer, evaluate,
// and the steps inside fit, measured between the source's batch requests), and so is
// Buffer growth.
#include <boost/test/unit_test.hpp>

#include "count_allocations.hpp"

#include <vector>

#include "support.hpp"
#include "typenet/train/trainer.hpp"
#include "typenet/typenet.hpp"

using typenet_test::allocations;
using typenet_test::counting;

namespace tn = typenet;

namespace {

using Net = tn::Sequential<tn::Input<12, 12, 1>, tn::Conv2D<4, 3, tn::ReLU>, tn::MaxPooling2D<2>, tn::Conv2D<8, 3, tn::ReLU>,
                           tn::Flatten, tn::Dense<16, tn::ReLU>, tn::Dropout<0.3f>, tn::Dense<10, tn::Softmax>>;
constexpr std::size_t batch = 8;

struct Data {
    std::vector<float> x, y;
    Data() : x(batch * Net::input_shape::size), y(batch) {
        tn::Random rng(1);
        for (float& v : x) v = rng.uniform(0.0f, 1.0f);
        for (std::size_t i = 0; i < batch; ++i) y[i] = static_cast<float>(i % 10);
    }
};

template <class O>
void check_steps_allocate_nothing(const O& optimizer) {
    Net model;
    Data data;
    auto trainer = tn::compile(model, tn::SparseCategoricalCrossentropy{}, optimizer);
    trainer.train_on_batch(data.x.data(), data.y.data(), batch);  // sizes buffers, optimizer state
    const std::size_t growth = tn::buffer_growth_count();
    allocations = 0;
    counting = true;
    for (int i = 0; i < 3; ++i) trainer.train_on_batch(data.x.data(), data.y.data(), batch);
    trainer.train_on_batch(data.x.data(), data.y.data(), batch - 3);  // a short last batch
    counting = false;
    BOOST_TEST(allocations.load() == 0u);
    BOOST_TEST(tn::buffer_growth_count() == growth);
}

// Counts the allocations made between consecutive batch requests, i.e. by one step of fit.
class CountingSource : public tn::BatchSource {
public:
    explicit CountingSource(tn::BatchSource& inner) : inner_(inner) {}
    std::size_t size() const override { return inner_.size(); }
    std::size_t sample_size() const override { return inner_.sample_size(); }
    std::size_t label_size() const override { return inner_.label_size(); }
    void start_epoch(std::uint64_t epoch) override {
        counting = false;
        inner_.start_epoch(epoch);
        first_ = true;
    }
    std::size_t next_batch(float* x, float* y, std::size_t max_batch) override {
        counting = false;
        if (!first_) {
            per_step.push_back(allocations.load());
            growth_per_step.push_back(tn::buffer_growth_count() - growth_);
        }
        first_ = false;
        const std::size_t n = inner_.next_batch(x, y, max_batch);
        growth_ = tn::buffer_growth_count();
        allocations = 0;
        counting = true;
        return n;
    }
    std::vector<std::size_t> per_step, growth_per_step;

private:
    tn::BatchSource& inner_;
    bool first_ = true;
    std::size_t growth_ = 0;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(allocation)

BOOST_AUTO_TEST_CASE(the_counter_sees_allocations) {
    allocations = 0;
    counting = true;
    std::vector<float>* v = new std::vector<float>(10);
    counting = false;
    delete v;
    BOOST_TEST(allocations.load() == 2u);  // the vector and its storage
}

BOOST_AUTO_TEST_CASE(train_on_batch_allocates_nothing_after_the_first_batch) {
    check_steps_allocate_nothing(tn::RMSprop{});
    check_steps_allocate_nothing(tn::Adam{});
    check_steps_allocate_nothing(tn::SGD{.momentum = 0.9f, .nesterov = true});
}

BOOST_AUTO_TEST_CASE(evaluate_allocates_nothing_after_the_first_call) {
    Net model;
    Data data;
    tn::ArraySource source(data.x, data.y, batch * Net::input_shape::size / batch, 1);
    auto trainer = tn::compile(model, tn::SparseCategoricalCrossentropy{}, tn::Adam{});
    trainer.evaluate(source, 3);
    allocations = 0;
    counting = true;
    trainer.evaluate(source, 3);
    counting = false;
    BOOST_TEST(allocations.load() == 0u);
}

BOOST_AUTO_TEST_CASE(steps_inside_fit_allocate_nothing) {
    Net model;
    Data one;
    std::vector<float> x, y;
    for (int copy = 0; copy < 6; ++copy) {  // 48 samples: 6 batches per epoch
        x.insert(x.end(), one.x.begin(), one.x.end());
        y.insert(y.end(), one.y.begin(), one.y.end());
    }
    tn::ArraySource inner(x, y, Net::input_shape::size, 1, true, 9);
    CountingSource source(inner);
    auto trainer = tn::compile(model, tn::SparseCategoricalCrossentropy{}, tn::RMSprop{});
    std::ostringstream out;  // the progress bar draws too
    trainer.fit(source, {.epochs = 2, .batch_size = batch, .verbose = 1, .out = &out});
    counting = false;
    // Every step is measured from one batch request to the next: no operator new at all,
    // and after the very first step (which makes the optimizer state) no buffer growth.
    BOOST_TEST(source.per_step.size() == 2u * 6u);
    BOOST_TEST(source.growth_per_step[0] > 0u);  // the measurement does see the first step's buffers
    for (std::size_t i = 0; i < source.per_step.size(); ++i) BOOST_TEST(source.per_step[i] == 0u, "step " << i);
    for (std::size_t i = 1; i < source.per_step.size(); ++i) BOOST_TEST(source.growth_per_step[i] == 0u, "step " << i);
}

BOOST_AUTO_TEST_SUITE_END()
