// typenet/train/trainer.hpp
// Keras's compile / fit / evaluate for a typenet model:
//
//   auto trainer = tn::compile(model, tn::BinaryCrossentropy{}, tn::RMSprop{.learning_rate = 1e-4f});
//   tn::History history = trainer.fit(train, {.epochs = 30, .batch_size = 30, .validation = &val});
//   tn::Evaluation test = trainer.evaluate(test_source, 20);       // loss and accuracy
//   trainer.fit(x, y, {.epochs = 5});                               // xtensor arrays (shuffled per epoch)
//
// A training step on a batch: upload (Buffer<Device>::upload), forward, the loss kernel
// (value, metric and gradient in one pass), backward from the first layer that learns,
// and the optimizer's update kernel for each trainable parameter. Everything runs
// through Kernels<Device>; the host reads back three numbers per batch (loss sum,
// accuracy sum, bad-label count). After the first batch a step allocates nothing.
//
// The model must outlive the trainer and stay where it is (the trainer keeps pointers
// to its parameters). Trainable flags are read at every step; a parameter gets its
// optimizer state (zeros) on the first step that trains it. Keras asks for compile()
// after changing trainable flags; doing so here also starts the optimizer afresh.
//
// Resuming: with a tn::BackupAndRestore callback the whole training state goes to a file
// after every epoch (train/training_state.hpp); fit continues from such a file when the
// callback finds one, or from FitOptions::resume_from. A resumed run ends with the
// weights of a run never interrupted, bit for bit (same seed, data and thread count).
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <ostream>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xexpression.hpp>

#include "typenet/backend/cpu/parallel.hpp"
#include "typenet/backend/kernels.hpp"
#include "typenet/core/backward_listener.hpp"
#include "typenet/core/batch_statistics.hpp"
#include "typenet/core/buffer.hpp"
#include "typenet/core/device.hpp"
#include "typenet/data/array_source.hpp"
#include "typenet/data/batch_source.hpp"
#include "typenet/data/shard.hpp"
#include "typenet/io/weights.hpp"
#include "typenet/layers/parameter.hpp"
#include "typenet/train/callbacks.hpp"
#include "typenet/train/data_parallel.hpp"
#include "typenet/train/history.hpp"
#include "typenet/train/losses.hpp"
#include "typenet/train/optimizers.hpp"
#include "typenet/train/progress.hpp"
#include "typenet/train/training_state.hpp"

namespace typenet {

struct FitOptions {
    std::size_t epochs = 1;
    std::size_t batch_size = 32;
    BatchSource* validation = nullptr;      // evaluated after every epoch (Keras's validation_data)
    std::size_t validation_batch_size = 0;  // 0: batch_size
    bool shuffle = true;                    // for fit(x, y): a new order each epoch, drawn from seed
    std::uint64_t seed = 0;                 //   (a BatchSource shuffles itself: ArraySource(x, y, true, seed))
    int verbose = 1;                        // 0 silent, 1 progress bar, 2 one line per epoch
    std::vector<Callback*> callbacks{};
    std::size_t initial_epoch = 0;          // resume: epochs counted from here, as Keras
    std::ostream* out = &std::cout;         // where the progress and the summary go
    std::filesystem::path resume_from{};    // continue from this training state (it must exist)
    // 0: off. c > 0: fixed-order gradient sums (train/trainer_chunked.inl): forward and
    // backward per chunk of c samples, the chunks' gradients summed in one fixed tree, so
    // N ranks (a power of two) train one process's model bit for bit. Costs a pass per
    // chunk: choose c = batch_size / ranks (docs/distributed.md).
    std::size_t reduction_chunk = 0;
};

// Keras's evaluate(): the sample-weighted mean loss and accuracy over a whole source.
struct Evaluation {
    double loss = 0.0;
    double accuracy = 0.0;
    std::size_t samples = 0;
};

// The loss of a training batch became NaN or infinite. The batch's update was not
// applied, so the model holds the weights of the last good step.
class NonFiniteLoss : public std::runtime_error {
public:
    NonFiniteLoss(std::size_t epoch, std::size_t batch, double loss, const std::string& message)
        : std::runtime_error(message), epoch_(epoch), batch_(batch), loss_(loss) {}
    [[nodiscard]] std::size_t epoch() const { return epoch_; }  // 1-based, as the progress line
    [[nodiscard]] std::size_t batch() const { return batch_; }  // 1-based
    [[nodiscard]] double loss() const { return loss_; }

private:
    std::size_t epoch_, batch_;
    double loss_;
};

template <class X>
concept HostArray = xt::is_xexpression<std::decay_t<X>>::value;

template <class Model, LossFunction Loss, Optimizer Opt>
class Trainer {
public:
    using device = typename Model::device;
    static constexpr std::size_t input_size = Model::input_shape::size;
    static constexpr std::size_t output_size = Model::output_shape::size;
    static constexpr std::size_t label_size = Loss::label_size(output_size);

    Trainer(Model& model, Loss loss, Opt optimizer)
        : model_(&model), loss_(loss), optimizer_(optimizer),
          wiring_(wire_loss(loss_, Model::activation::kind)) {
        optimizer_.validate();
        model.for_each_layer([&](auto& layer, int) {
            if constexpr (!std::remove_cvref_t<decltype(layer)>::is_model)
                for (auto& p : layer.parameters()) slots_.push_back(Slot{&p, &layer.trainable, {}, false, &layer, {}});
        });
        // Each parameter's name in weight files ("vgg16/block1_conv1/kernel"), for training states.
        model.for_each_parameter([&](std::string_view layer_path, auto& parameter, bool) {
            for (Slot& slot : slots_)
                if (slot.parameter == &parameter) slot.name = io::detail::weight_name(layer_path, parameter.name);
        });
        totals_.ensure(3);
    }

    [[nodiscard]] Model& model() { return *model_; }
    [[nodiscard]] const Loss& loss() const { return loss_; }
    [[nodiscard]] const Opt& optimizer() const { return optimizer_; }
    // Optimizer steps taken so far (Keras's optimizer.iterations).
    [[nodiscard]] std::uint64_t iterations() const { return iterations_; }
    // Whether the loss gradient skips the model's last activation (the fused path).
    [[nodiscard]] bool fused_loss() const { return wiring_.wrt_preactivation && !wiring_.from_logits; }

    // ---- Training ----------------------------------------------------------------------
    History fit(BatchSource& train, const FitOptions& options = {}) {
        if (DataParallel* group = active_data_parallel()) return fit_parallel(*group, train, options);
        if (options.batch_size == 0) throw std::invalid_argument("fit: batch_size must be at least 1");
        check_source(train, "fit: the training data");
        if (train.size() == 0) throw std::invalid_argument("fit: the training data is empty");
        if (options.validation != nullptr) check_source(*options.validation, "fit: the validation data");
        check_reduction_chunk(options.reduction_chunk, 1, nullptr);
        const std::size_t batch = options.batch_size;
        const std::size_t validation_batch = options.validation_batch_size ? options.validation_batch_size : batch;
        reserve(std::max(batch, options.validation != nullptr ? validation_batch : 0));

        std::ostream& out = options.out != nullptr ? *options.out : std::cout;
        ProgressBar progress(out, options.verbose, is_terminal(out));
        Context context(*this, options.validation != nullptr, out);
        BackupAndRestore* backup = nullptr;
        for (Callback* callback : options.callbacks)
            if (backup == nullptr) backup = dynamic_cast<BackupAndRestore*>(callback);
        std::filesystem::path resume = options.resume_from;
        if (resume.empty() && backup != nullptr && backup->restores() && std::filesystem::exists(backup->file()))
            resume = backup->file();
        for (Callback* callback : options.callbacks) callback->on_train_begin(context);

        History history;
        std::size_t first_epoch = options.initial_epoch;
        if (!resume.empty()) {
            TrainingState state = read_training_state(resume);
            restore_training_state(state, resume, options, train.size(), context);
            history = std::move(state.history);
            first_epoch = state.epochs_done;
            context.stop_requested = state.stopped;
            if (options.verbose > 0)
                out << "Resumed from " << resume.string() << ": " << first_epoch << " of " << options.epochs
                    << " epochs done" << (state.stopped ? ", training had stopped" : "") << '\n';
        }
        const std::size_t steps = (train.size() + batch - 1) / batch;
        using clock = std::chrono::steady_clock;
        for (std::size_t epoch = first_epoch; !context.stop_requested && epoch < options.epochs; ++epoch) {
            const auto epoch_start = clock::now();
            train.start_epoch(epoch);
            progress.start_epoch(epoch, options.epochs, steps);
            double loss_sum = 0.0, accuracy_sum = 0.0, train_seconds = 0.0;
            std::size_t seen = 0, step = 0;
            for (;;) {
                const auto step_start = clock::now();
                const std::size_t n = train.next_batch(x_host_.data(), y_host_.data(), batch);
                if (n == 0) break;
                ++step;
                const StepTotals totals = options.reduction_chunk != 0
                                              ? train_step_chunked(nullptr, n, n, 0, options.reduction_chunk)
                                              : train_step(n);
                if (totals.invalid_labels != 0) throw bad_labels("fit", epoch + 1, step, totals.invalid_labels);
                if (!std::isfinite(totals.loss_sum)) throw non_finite(epoch + 1, step, steps, totals.loss_sum / n);
                train_seconds += std::chrono::duration<double>(clock::now() - step_start).count();
                loss_sum += totals.loss_sum;
                accuracy_sum += totals.accuracy_sum;
                seen += n;
                progress.update(step, loss_sum / seen, accuracy_sum / seen);
            }
            EpochLogs logs;
            logs.epoch = epoch;
            logs.loss = seen ? loss_sum / seen : 0.0;
            logs.accuracy = seen ? accuracy_sum / seen : 0.0;
            logs.samples = seen;
            logs.train_seconds = train_seconds;
            if (options.validation != nullptr) {
                const Evaluation validation = evaluate(*options.validation, validation_batch);
                logs.has_validation = true;
                logs.val_loss = validation.loss;
                logs.val_accuracy = validation.accuracy;
            }
            logs.seconds = std::chrono::duration<double>(clock::now() - epoch_start).count();
            progress.finish(logs, step);
            history.append(logs);
            for (Callback* callback : options.callbacks) callback->on_epoch_end(context, logs);
            if (context.stop_requested) history.stopped_early = true;
            // Last, so the state holds what every callback did with this epoch.
            if (backup != nullptr)
                write_training_state(backup->file(), capture_training_state(options, train.size(), epoch + 1,
                                                                            context.stop_requested, history));
        }
        for (Callback* callback : options.callbacks) callback->on_train_end(context, history);
        if (options.verbose > 0 && history.epochs() > 0) print_throughput(out, history);
        return history;
    }

    // fit on arrays in memory: x (N, sample dims...), y (N) or (N, label dims...), as
    // Keras's fit(x, y, shuffle=True); the order is redrawn each epoch from options.seed.
    template <HostArray X, HostArray Y>
    History fit(const X& x, const Y& y, const FitOptions& options = {}) {
        ArraySource source(x, y, options.shuffle, options.seed);
        return fit(source, options);
    }

    // One training step on a batch of `batch` samples in host memory (Keras's
    // train_on_batch): the batch's mean loss and accuracy, before the update.
    Evaluation train_on_batch(const float* x, const float* y, std::size_t batch) {
        if (batch == 0) throw std::invalid_argument("train_on_batch: the batch is empty");
        reserve(batch);
        std::copy(x, x + batch * input_size, x_host_.begin());
        std::copy(y, y + batch * label_size, y_host_.begin());
        const StepTotals totals = train_step(batch);
        if (totals.invalid_labels != 0) throw bad_labels("train_on_batch", 0, 1, totals.invalid_labels);
        if (!std::isfinite(totals.loss_sum)) throw non_finite(0, 1, 1, totals.loss_sum / batch);
        return {totals.loss_sum / batch, totals.accuracy_sum / batch, batch};
    }

    // ---- Evaluation --------------------------------------------------------------------
    Evaluation evaluate(BatchSource& source, std::size_t batch_size = 32) {
        if (DataParallel* group = active_data_parallel()) return evaluate_parallel(*group, source, batch_size);
        if (batch_size == 0) throw std::invalid_argument("evaluate: batch_size must be at least 1");
        check_source(source, "evaluate: the data");
        reserve(batch_size);
        source.start_epoch(0);
        double loss_sum = 0.0, accuracy_sum = 0.0;
        std::size_t seen = 0, step = 0;
        for (;;) {
            const std::size_t n = source.next_batch(x_host_.data(), y_host_.data(), batch_size);
            if (n == 0) break;
            ++step;
            input_.upload(x_host_.data(), n * input_size);
            labels_.upload(y_host_.data(), n * label_size);
            model_->forward(input_.data(), output_.data(), n, Mode::infer);
            Kernels<device>::loss_value_and_gradient(Loss::kind, wiring_.from_logits, output_.data(), labels_.data(), n,
                                                     output_size, nullptr, false, 0.0f, totals_.data());
            totals_.download(totals_host_.data(), totals_host_.size());
            if (totals_host_[2] != 0.0f) throw bad_labels("evaluate", 0, step, totals_host_[2]);
            loss_sum += totals_host_[0];
            accuracy_sum += totals_host_[1];
            seen += n;
        }
        if (seen == 0) throw std::invalid_argument("evaluate: the data is empty");
        return {loss_sum / seen, accuracy_sum / seen, seen};
    }

    template <HostArray X, HostArray Y>
    Evaluation evaluate(const X& x, const Y& y, std::size_t batch_size = 32) {
        ArraySource source(x, y);
        return evaluate(source, batch_size);
    }

private:
    struct Slot {
        Parameter<device>* parameter;
        const bool* trainable;  // the layer's flag, read at every step
        std::array<Buffer<device>, 2> state;
        bool ready;
        const void* layer;  // the layer it belongs to (data-parallel runs send it when backward is past it)
        std::string name;  // as in weight files
    };
    struct StepTotals {
        double loss_sum, accuracy_sum, invalid_labels;
    };

    // What callbacks see of this trainer during one fit.
    class Context final : public TrainingContext {
    public:
        Context(Trainer& trainer, bool has_validation, std::ostream& out)
            : trainer_(trainer), has_validation_(has_validation), out_(out) {}
        void save_weights(const std::filesystem::path& path) override { io::save_weights(*trainer_.model_, path); }
        void load_weights(const std::filesystem::path& path) override { io::load_weights(*trainer_.model_, path); }
        [[nodiscard]] WeightValues get_weights() const override {
            WeightValues values;
            for (const Slot& slot : trainer_.slots_) values.push_back(slot.parameter->values());
            return values;
        }
        void set_weights(const WeightValues& values) override {
            if (values.size() != trainer_.slots_.size())
                throw std::invalid_argument("set_weights: " + std::to_string(values.size()) + " arrays for a model with " +
                                            std::to_string(trainer_.slots_.size()) + " parameters");
            for (std::size_t i = 0; i < values.size(); ++i)
                if (values[i].size() != trainer_.slots_[i].parameter->size())
                    throw std::invalid_argument("set_weights: array " + std::to_string(i) + " has " +
                                                std::to_string(values[i].size()) + " values, the parameter " +
                                                trainer_.slots_[i].parameter->shape_string() + " needs " +
                                                std::to_string(trainer_.slots_[i].parameter->size()));
            for (std::size_t i = 0; i < values.size(); ++i) trainer_.slots_[i].parameter->set_values(values[i]);
        }
        void stop_training() override { stop_requested = true; }
        [[nodiscard]] bool has_validation() const override { return has_validation_; }
        [[nodiscard]] std::ostream& log() override { return out_; }

        bool stop_requested = false;

    private:
        Trainer& trainer_;
        bool has_validation_;
        std::ostream& out_;
    };

    // Host staging and device buffers for batches of up to `batch` samples.
    void reserve(std::size_t batch) {
        if (batch <= reserved_) return;
        x_host_.resize(batch * input_size);
        y_host_.resize(batch * label_size);
        input_.ensure(batch * input_size);
        labels_.ensure(batch * label_size);
        output_.ensure(batch * output_size);
        gradient_.ensure(batch * output_size);
        model_->reserve(batch);
        reserved_ = batch;
    }

    // The batch in x_host_ / y_host_: forward, loss, and (when the loss is finite) backward
    // and update. Allocation-free once reserve() has seen the batch size.
    StepTotals train_step(std::size_t n) {
        input_.upload(x_host_.data(), n * input_size);
        labels_.upload(y_host_.data(), n * label_size);
        model_->forward(input_.data(), output_.data(), n, Mode::train);
        Kernels<device>::loss_value_and_gradient(Loss::kind, wiring_.from_logits, output_.data(), labels_.data(), n,
                                                 output_size, gradient_.data(), wiring_.wrt_preactivation,
                                                 1.0f / static_cast<float>(n), totals_.data());
        totals_.download(totals_host_.data(), totals_host_.size());
        const StepTotals totals{totals_host_[0], totals_host_[1], totals_host_[2]};
        if (totals.invalid_labels != 0.0 || !std::isfinite(totals.loss_sum)) return totals;  // nothing applied
        model_->backward(input_.data(), output_.data(), gradient_.data(), nullptr, n, wiring_.wrt_preactivation);
        apply_optimizer();
        return totals;
    }

    // The optimizer's step on every trainable parameter from its gradient (its slots zeroed
    // on first use), then the iteration count: the end of every kind of training step.
    void apply_optimizer() {
        const std::size_t slots = optimizer_.slot_count();
        for (Slot& slot : slots_) {
            if (!*slot.trainable) continue;
            if (!slot.ready) {
                for (std::size_t k = 0; k < slots; ++k) slot.state[k].ensure_zeroed(slot.parameter->size());
                slot.ready = true;
            }
            optimizer_.apply(iterations_, *slot.parameter, std::span<Buffer<device>>(slot.state.data(), slots));
        }
        ++iterations_;
    }

    // ---- Training state (train/training_state.hpp) ---------------------------------------

    // Each layer with random state (Dropout), keyed "<index in for_each_layer>:<name>".
    template <class Visit>
    void for_each_random_layer(Visit&& visit) {
        std::size_t index = 0;
        model_->for_each_layer([&](auto& layer, int) {
            if constexpr (requires { layer.random_state(); }) visit(std::to_string(index) + ":" + std::string(layer.name.view()), layer);
            ++index;
        });
    }

    [[nodiscard]] static int threads_of_run() {
        if constexpr (std::is_same_v<device, cpu>) return cpu_threads();
        return 0;
    }

    TrainingState capture_training_state(const FitOptions& options, std::size_t train_size, std::size_t epochs_done,
                                         bool stopped, const History& history) {
        TrainingState state;
        state.model = std::string(Model::name.view());
        state.param_count = Model::param_count;
        state.loss = std::string(Loss::name);
        state.optimizer = optimizer_text(optimizer_);
        state.batch_size = options.batch_size;
        state.seed = options.seed;
        state.train_size = train_size;
        state.cpu_threads = threads_of_run();
        state.epochs_done = epochs_done;
        state.epochs = options.epochs;
        state.stopped = stopped;
        state.iterations = iterations_;
        const std::size_t slots = optimizer_.slot_count();
        for (const Slot& slot : slots_) {
            state.weights.push_back({slot.name, slot.parameter->shape, slot.parameter->values()});
            if (!slot.ready) continue;
            for (std::size_t k = 0; k < slots; ++k) {
                std::vector<float> values(slot.parameter->size());
                slot.state[k].download(values.data(), values.size());
                state.optimizer_slots.push_back({slot.name + "/" + std::to_string(k), slot.parameter->shape, std::move(values)});
            }
        }
        // Non-trainable state (BatchNormalization's moving statistics) moves during training too.
        model_->for_each_state([&](std::string_view layer_path, auto& variable) {
            state.weights.push_back({io::detail::weight_name(layer_path, variable.name), variable.shape, variable.values()});
        });
        for_each_random_layer([&](const std::string& key, auto& layer) { state.layer_random[key] = layer.random_state(); });
        state.history = history;
        for (const Callback* callback : options.callbacks) {
            CallbackState saved;
            callback->save_state(saved);
            state.callbacks.push_back(std::move(saved));
        }
        return state;
    }

    // Checks the whole state against this model and run, then puts it in place: on any
    // problem nothing has changed.
    void restore_training_state(const TrainingState& state, const std::filesystem::path& file,
                                const FitOptions& options, std::size_t train_size, Context& context) {
        std::vector<std::string> problems;
        auto differs = [&](const std::string& what, const std::string& saved, const std::string& now) {
            if (saved != now) problems.push_back(what + ": the state has " + saved + ", this run " + now);
        };
        differs("model", state.model, std::string(Model::name.view()));
        differs("parameters", std::to_string(state.param_count), std::to_string(Model::param_count));
        differs("loss", state.loss, std::string(Loss::name));
        differs("optimizer", state.optimizer, optimizer_text(optimizer_));
        differs("batch size", std::to_string(state.batch_size), std::to_string(options.batch_size));
        differs("seed", std::to_string(state.seed), std::to_string(options.seed));
        differs("training samples per epoch", std::to_string(state.train_size), std::to_string(train_size));
        differs("callbacks", std::to_string(state.callbacks.size()), std::to_string(options.callbacks.size()));
        if (state.epochs_done > options.epochs)
            problems.push_back("epochs: the state has " + std::to_string(state.epochs_done) +
                               " epochs done, this run asks for " + std::to_string(options.epochs));

        std::map<std::string, const io::TensorData*> weights, slot_values;
        for (const auto& w : state.weights) weights.emplace(w.name, &w);
        for (const auto& s : state.optimizer_slots) slot_values.emplace(s.name, &s);
        const std::size_t slots = optimizer_.slot_count();
        std::size_t slots_used = 0;
        for (const Slot& slot : slots_) {
            const auto found = weights.find(slot.name);
            if (found == weights.end())
                problems.push_back("weights: " + slot.name + " is missing");
            else if (found->second->shape != slot.parameter->shape)
                problems.push_back("weights: " + slot.name + " has shape " + io::detail::shape_string(found->second->shape) +
                                   ", the model " + slot.parameter->shape_string());
            std::size_t present = 0;
            for (std::size_t k = 0; k < slots; ++k) {
                const auto value = slot_values.find(slot.name + "/" + std::to_string(k));
                if (value == slot_values.end()) continue;
                ++present;
                if (value->second->values.size() != slot.parameter->size())
                    problems.push_back("optimizer slot " + value->first + " has " +
                                       std::to_string(value->second->values.size()) + " values, the parameter " +
                                       std::to_string(slot.parameter->size()));
            }
            if (present != 0 && present != slots)
                problems.push_back("optimizer: " + slot.name + " has " + std::to_string(present) + " of its " +
                                   std::to_string(slots) + " slots");
            slots_used += present;
        }
        std::size_t state_tensors = 0;
        model_->for_each_state([&](std::string_view layer_path, auto& variable) {
            ++state_tensors;
            const std::string name = io::detail::weight_name(layer_path, variable.name);
            const auto found = weights.find(name);
            if (found == weights.end())
                problems.push_back("weights: " + name + " (non-trainable state) is missing");
            else if (found->second->shape != variable.shape)
                problems.push_back("weights: " + name + " has shape " + io::detail::shape_string(found->second->shape) +
                                   ", the model " + variable.shape_string());
        });
        if (weights.size() != slots_.size() + state_tensors)
            problems.push_back("weights: the state holds " + std::to_string(weights.size()) + " tensors, the model has " +
                               std::to_string(slots_.size() + state_tensors) + " parameters and state variables");
        if (slots_used != slot_values.size())
            problems.push_back("optimizer: the state holds slots for parameters this model or optimizer does not have");
        std::size_t random_layers = 0;
        for_each_random_layer([&](const std::string& key, auto&) {
            ++random_layers;
            if (!state.layer_random.contains(key)) problems.push_back("random state of layer " + key + " is missing");
        });
        if (random_layers != state.layer_random.size())
            problems.push_back("random state: the state has " + std::to_string(state.layer_random.size()) +
                               " layers with random state, the model " + std::to_string(random_layers));
        if (!problems.empty()) {
            std::string message = file.string() + ": this training state does not fit this run (" +
                                  std::to_string(problems.size()) + (problems.size() == 1 ? " difference" : " differences") +
                                  "; resume with the model and flags of the run that wrote it):";
            for (const auto& problem : problems) message += "\n  " + problem;
            throw TrainingStateMismatch(message);
        }
        if (state.cpu_threads != threads_of_run() && options.verbose > 0)
            context.log() << "warning: " << file.string() << " was written with " << state.cpu_threads
                          << " CPU threads, this run has " << threads_of_run()
                          << ": the sums may round differently from an uninterrupted run\n";

        for (Slot& slot : slots_) {
            slot.parameter->set_values(weights.at(slot.name)->values);
            slot.ready = slots != 0 && slot_values.contains(slot.name + "/0");  // else zeros on its first step
            for (std::size_t k = 0; k < slots && slot.ready; ++k) {
                const auto& values = slot_values.at(slot.name + "/" + std::to_string(k))->values;
                slot.state[k].ensure(values.size());
                slot.state[k].upload(values.data(), values.size());
            }
        }
        model_->for_each_state([&](std::string_view layer_path, auto& variable) {
            variable.set_values(weights.at(io::detail::weight_name(layer_path, variable.name))->values);
        });
        iterations_ = state.iterations;
        for_each_random_layer([&](const std::string& key, auto& layer) { layer.set_random_state(state.layer_random.at(key)); });
        for (std::size_t i = 0; i < options.callbacks.size(); ++i) {
            try {
                options.callbacks[i]->restore_state(context, state.callbacks[i], state.history);
            } catch (const std::invalid_argument& e) {
                throw io::FormatError(file, "callback " + std::to_string(i + 1) + ": " + e.what());
            }
        }
    }

    void check_source(const BatchSource& source, std::string_view what) const {
        if (source.sample_size() != input_size)
            throw std::invalid_argument(std::string(what) + " has samples of " + std::to_string(source.sample_size()) +
                                        " floats, but the model's input " + Model::input_shape::keras_string() +
                                        " takes " + std::to_string(input_size));
        if (source.label_size() != label_size) {
            std::string hint;
            if (Loss::kind == LossKind::sparse_categorical_crossentropy && source.label_size() == output_size)
                hint = " (one-hot labels? use tn::CategoricalCrossentropy)";
            else if (Loss::kind == LossKind::categorical_crossentropy && source.label_size() == 1)
                hint = " (class indices? use tn::SparseCategoricalCrossentropy)";
            throw std::invalid_argument(std::string(what) + " has labels of " + std::to_string(source.label_size()) +
                                        " floats, but " + std::string(Loss::name) + " on a model with " +
                                        std::to_string(output_size) + " outputs needs " + std::to_string(label_size) +
                                        hint);
        }
    }

    static std::invalid_argument bad_labels(std::string_view where, std::size_t epoch, std::size_t batch, double count) {
        std::string at = epoch ? "epoch " + std::to_string(epoch) + ", batch " + std::to_string(batch)
                               : "batch " + std::to_string(batch);
        return std::invalid_argument(std::string(where) + ": " + at + " has " + std::to_string(static_cast<long>(count)) +
                                     " labels that are not class indices in [0, " + std::to_string(output_size) +
                                     ") for " + std::string(Loss::name));
    }

    static NonFiniteLoss non_finite(std::size_t epoch, std::size_t batch, std::size_t steps, double loss) {
        const std::string value = std::isnan(loss) ? "nan" : (loss > 0 ? "inf" : "-inf");
        std::string at = epoch ? "epoch " + std::to_string(epoch) + ", batch " + std::to_string(batch) + " of " +
                                     std::to_string(steps)
                               : "the batch";
        return NonFiniteLoss(epoch, batch, loss,
                             "training stopped: the loss (" + std::string(Loss::name) + ") is " + value + " at " + at +
                                 ". The batch holds NaN or infinite inputs or labels, or training diverged (try a "
                                 "lower learning rate). Its update was not applied: the model keeps the weights of "
                                 "the last good step, and saved checkpoints are untouched.");
    }

    static void print_throughput(std::ostream& out, const History& history) {
        std::size_t images = 0;
        double seconds = 0.0;
        for (std::size_t i = 0; i < history.epochs(); ++i) {
            images += history.samples[i];
            seconds += history.train_seconds[i];
        }
        char text[160];
        std::snprintf(text, sizeof text, "Training throughput: %.1f images/s (%zu images in %.1fs of training steps)\n",
                      history.images_per_second(), images, seconds);
        out << text;
    }

#include "typenet/train/trainer_parallel.inl"
#include "typenet/train/trainer_chunked.inl"

    Model* model_;
    Loss loss_;
    Opt optimizer_;
    LossWiring wiring_;
    std::uint64_t iterations_ = 0;
    std::vector<Slot> slots_;
    std::size_t reserved_ = 0;
    std::vector<float> x_host_, y_host_;
    Buffer<device> input_, labels_, output_, gradient_, totals_;
    std::array<float, 3> totals_host_{};
};

// Keras's model.compile(loss, optimizer): a Trainer bound to the model.
template <class Model, LossFunction Loss, Optimizer Opt>
Trainer<Model, Loss, Opt> compile(Model& model, Loss loss, Opt optimizer) {
    return Trainer<Model, Loss, Opt>(model, loss, optimizer);
}

}  // namespace typenet
