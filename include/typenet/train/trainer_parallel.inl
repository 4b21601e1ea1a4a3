// typenet/train/trainer_parallel.inl
// Trainer's data-parallel fit and evaluate (train/data_parallel.hpp says what they
// guarantee), included inside class Trainer so that the one-process path stays as it is.
// Not a header on its own: its members use the Trainer's.

    // Every rank's slice of a global batch of `global` samples: returns (this rank's
    // samples, all ranks' samples). A rank whose source throws (an unreadable file, ...)
    // does not leave the others waiting: all ranks throw the lowest failing rank's error.
    std::pair<std::size_t, std::size_t> read_slice(DataParallel& group, BatchSource& source, bool sharded,
                                                   std::size_t global, std::size_t chunk = 0) {
        const Shard shard{group.rank(), group.size(), global, chunk};
        std::size_t n = 0;
        std::string failure;
        try {
            if (global != 0 && sharded) {
                n = source.next_batch(x_host_.data(), y_host_.data(), shard.last(global) - shard.first(global));
            } else if (global != 0) {  // the source cannot shard: read the whole batch, keep the slice
                scratch_x_.resize(global * input_size);
                scratch_y_.resize(global * label_size);
                const std::size_t got = source.next_batch(scratch_x_.data(), scratch_y_.data(), global);
                const std::size_t first = std::min(shard.first(got), got), last = std::min(shard.last(got), got);
                n = last - first;
                std::copy_n(scratch_x_.begin() + first * input_size, n * input_size, x_host_.begin());
                std::copy_n(scratch_y_.begin() + first * label_size, n * label_size, y_host_.begin());
            }
        } catch (const std::exception& e) {
            failure = e.what();
            if (failure.empty()) failure = "reading a batch failed";
        }
        std::array<double, 2> agreed{static_cast<double>(n), failure.empty() ? 0.0 : 1.0};
        group.sum(agreed, "the batch sizes");
        if (agreed[1] != 0.0) throw std::runtime_error(group.agree_on_failure(failure));
        return {n, static_cast<std::size_t>(agreed[0])};
    }

    void broadcast_parameters(DataParallel& group) {
        for (Slot& slot : slots_)
            group.broadcast(slot.parameter->value.data(), slot.parameter->size(), !std::is_same_v<device, cpu>,
                            slot.parameter->name);
    }

    // Dropout (and any layer that draws per sample) learns where this rank's slice starts
    // in the global batch, so the masks are those of one process on the whole batch.
    void place_slice(std::size_t first_sample, bool empty) {
        model_->for_each_layer([&](auto& layer, int) {
            if constexpr (requires { layer.set_first_sample(std::uint64_t{}); }) {
                layer.set_first_sample(first_sample);
                if (empty) layer.skip_training_step();
            }
        });
    }

    // Sends each layer's gradients as soon as backward has finished that layer.
    class GradientSender final : public BackwardListener {
    public:
        GradientSender(DataParallel& group, std::vector<std::pair<const void*, std::size_t>>& owners)
            : group_(group), owners_(owners) {}
        void layer_done(const void* layer) override {
            for (const auto& [owner, index] : owners_)
                if (owner == layer) group_.gradient_ready(index);
        }

    private:
        DataParallel& group_;
        std::vector<std::pair<const void*, std::size_t>>& owners_;
    };

    // Layers that normalise with batch statistics (BatchNormalization) sum them over the
    // ranks through this, so they normalise with the whole global batch's.
    class StatisticsSender final : public BatchStatisticsSum {
    public:
        explicit StatisticsSender(DataParallel& group) : group_(group) {}
        void sum(std::span<double> values) override { group_.sum(values, "a layer's batch statistics"); }

    private:
        DataParallel& group_;
    };

    // The first layer that sums batch statistics over the ranks in training, if any: such a
    // layer needs every rank to run every step, so no rank may get an empty slice.
    std::string layer_with_batch_statistics() {
        std::string found;
        model_->for_each_layer([&](auto& layer, int) {
            if constexpr (requires { layer.uses_batch_statistics(Mode::train); })
                if (found.empty() && layer.uses_batch_statistics(Mode::train)) found = std::string(layer.name.view());
        });
        return found;
    }

    // One data-parallel step on this rank's n samples of a global batch of `global`.
    StepTotals train_step_parallel(DataParallel& group, std::size_t n, std::size_t global, std::size_t first) {
        place_slice(first, n == 0);
        std::array<double, 3> totals{0.0, 0.0, 0.0};
        StatisticsSender statistics(group);
        SumBatchStatistics sum_statistics(&statistics);
        if (n != 0) {
            input_.upload(x_host_.data(), n * input_size);
            labels_.upload(y_host_.data(), n * label_size);
            model_->forward(input_.data(), output_.data(), n, Mode::train);
            Kernels<device>::loss_value_and_gradient(Loss::kind, wiring_.from_logits, output_.data(), labels_.data(), n,
                                                     output_size, gradient_.data(), wiring_.wrt_preactivation,
                                                     1.0f / static_cast<float>(global), totals_.data());
            totals_.download(totals_host_.data(), totals_host_.size());
            totals = {totals_host_[0], totals_host_[1], totals_host_[2]};
        }
        group.sum(totals, "the loss and metrics");
        const StepTotals summed{totals[0], totals[1], totals[2]};
        if (summed.invalid_labels != 0.0 || !std::isfinite(summed.loss_sum)) return summed;  // every rank stops

        // Frozen layers' gradients are not sent: only this step's trainable slots, last layer first.
        tensors_.clear();
        owners_.clear();
        for (std::size_t i = slots_.size(); i-- > 0;) {
            Slot& slot = slots_[i];
            if (!*slot.trainable) continue;
            owners_.emplace_back(slot.layer, tensors_.size());
            tensors_.push_back({slot.parameter->grad.data(), slot.parameter->size(), !std::is_same_v<device, cpu>});
        }
        group.begin_gradients(tensors_);
        if (n != 0) {
            GradientSender sender(group, owners_);
            ListenBackward listen(&sender);
            model_->backward(input_.data(), output_.data(), gradient_.data(), nullptr, n, wiring_.wrt_preactivation);
        } else {  // nothing to learn from here: this rank adds zeros
            for (std::size_t i = 0; i < tensors_.size(); ++i) {
                Kernels<device>::fill(tensors_[i].data, tensors_[i].count, 0.0f);
                group.gradient_ready(i);
            }
        }
        group.finish_gradients();  // also sends any tensor backward did not report
        apply_optimizer();
        return summed;
    }

    History fit_parallel(DataParallel& group, BatchSource& train, const FitOptions& options) {
        if (options.batch_size == 0) throw std::invalid_argument("fit: batch_size must be at least 1");
        check_source(train, "fit: the training data");
        if (train.size() == 0) throw std::invalid_argument("fit: the training data is empty");
        if (options.validation != nullptr) check_source(*options.validation, "fit: the validation data");
        const std::size_t batch = options.batch_size;  // the global batch: every rank's slices together
        const std::size_t validation_batch = options.validation_batch_size ? options.validation_batch_size : batch;
        reserve(std::max(batch, options.validation != nullptr ? validation_batch : 0));
        const bool leader = group.rank() == 0;
        if (const std::string layer = layer_with_batch_statistics(); !layer.empty()) {
            if constexpr (!std::is_same_v<device, cpu>)
                throw std::invalid_argument("fit: layer '" + layer +
                                            "' normalises with batch statistics, which data-parallel training sums "
                                            "over the ranks on the CPU only (not yet on the GPU)");
            const std::size_t last = train.size() % batch;
            if (batch < group.size() || (last != 0 && last < group.size()))
                throw std::invalid_argument(
                    "fit: layer '" + layer + "' normalises with batch statistics summed over the " +
                    std::to_string(group.size()) + " ranks, so every rank needs samples in every global batch, but " +
                    (batch < group.size() ? "the batch size is " + std::to_string(batch)
                                          : "the last batch has " + std::to_string(last) + " samples") +
                    ": choose a batch size (and number of samples) that gives every rank at least one sample");
        }
        const std::size_t chunk = options.reduction_chunk;  // 0, or fixed-order sums (trainer_chunked.inl)
        check_reduction_chunk(chunk, group.size(), &group);
        const bool sharded = train.set_shard({group.rank(), group.size(), batch, chunk});
        broadcast_parameters(group);

        // Only rank 0 prints and runs the callbacks (which write files); the others follow
        // its decision to stop and its weights (a callback may restore the best ones).
        std::ostream null_stream(nullptr);
        std::ostream& out = leader ? (options.out != nullptr ? *options.out : std::cout) : null_stream;
        ProgressBar progress(out, leader ? options.verbose : 0, leader && is_terminal(out));
        Context context(*this, options.validation != nullptr, out);
        if (leader)
            for (Callback* callback : options.callbacks) callback->on_train_begin(context);

        History history;
        const std::size_t size = train.size();
        const std::size_t steps = (size + batch - 1) / batch;
        using clock = std::chrono::steady_clock;
        try {
            for (std::size_t epoch = options.initial_epoch; epoch < options.epochs; ++epoch) {
                const auto epoch_start = clock::now();
                train.start_epoch(epoch);
                progress.start_epoch(epoch, options.epochs, steps);
                double loss_sum = 0.0, accuracy_sum = 0.0, train_seconds = 0.0;
                std::size_t seen = 0, step = 0;
                for (std::size_t start = 0; start < size; start += batch) {
                    const auto step_start = clock::now();
                    const std::size_t global = std::min(batch, size - start);
                    const auto [n, total] = read_slice(group, train, sharded, global, chunk);
                    if (total == 0) break;
                    ++step;
                    const std::size_t first = Shard{group.rank(), group.size(), global, chunk}.first(global);
                    const StepTotals totals = chunk != 0 ? train_step_chunked(&group, n, total, first, chunk)
                                                         : train_step_parallel(group, n, total, first);
                    if (totals.invalid_labels != 0) throw bad_labels("fit", epoch + 1, step, totals.invalid_labels);
                    if (!std::isfinite(totals.loss_sum)) throw non_finite(epoch + 1, step, steps, totals.loss_sum / total);
                    train_seconds += std::chrono::duration<double>(clock::now() - step_start).count();
                    loss_sum += totals.loss_sum;
                    accuracy_sum += totals.accuracy_sum;
                    seen += total;
                    progress.update(step, loss_sum / seen, accuracy_sum / seen);
                }
                EpochLogs logs;
                logs.epoch = epoch;
                logs.loss = seen ? loss_sum / seen : 0.0;
                logs.accuracy = seen ? accuracy_sum / seen : 0.0;
                logs.samples = seen;
                logs.train_seconds = train_seconds;
                if (options.validation != nullptr) {
                    const Evaluation validation = evaluate_parallel(group, *options.validation, validation_batch);
                    logs.has_validation = true;
                    logs.val_loss = validation.loss;
                    logs.val_accuracy = validation.accuracy;
                }
                logs.seconds = std::chrono::duration<double>(clock::now() - epoch_start).count();
                progress.finish(logs, step);
                history.append(logs);
                std::string failure;
                if (leader) try {
                        for (Callback* callback : options.callbacks) callback->on_epoch_end(context, logs);
                    } catch (const std::exception& e) {
                        failure = e.what();
                    }
                std::array<double, 2> decision{context.stop_requested ? 1.0 : 0.0, failure.empty() ? 0.0 : 1.0};
                group.sum(decision, "the callbacks' decision");
                if (decision[1] != 0.0) throw std::runtime_error(group.agree_on_failure(failure));
                broadcast_parameters(group);
                if (decision[0] != 0.0) {
                    history.stopped_early = true;
                    break;
                }
            }
            if (leader)
                for (Callback* callback : options.callbacks) callback->on_train_end(context, history);
            broadcast_parameters(group);
        } catch (...) {
            train.set_shard({});
            throw;
        }
        train.set_shard({});  // the source reads everything again (predict, evaluate elsewhere)
        if (leader && options.verbose > 0 && history.epochs() > 0) print_throughput(out, history);
        return history;
    }

    // Every rank evaluates its slices; the sums make the same result on every rank.
    Evaluation evaluate_parallel(DataParallel& group, BatchSource& source, std::size_t batch_size) {
        if (batch_size == 0) throw std::invalid_argument("evaluate: batch_size must be at least 1");
        check_source(source, "evaluate: the data");
        reserve(batch_size);
        const bool sharded = source.set_shard({group.rank(), group.size(), batch_size});
        std::array<double, 3> sums{0.0, 0.0, 0.0};
        std::size_t seen = 0, step = 0;
        try {
            source.start_epoch(0);
            const std::size_t size = source.size();
            for (std::size_t start = 0; start < size; start += batch_size) {
                const auto [n, total] = read_slice(group, source, sharded, std::min(batch_size, size - start));
                if (total == 0) break;
                ++step;
                std::array<double, 3> totals{0.0, 0.0, 0.0};
                if (n != 0) {
                    input_.upload(x_host_.data(), n * input_size);
                    labels_.upload(y_host_.data(), n * label_size);
                    model_->forward(input_.data(), output_.data(), n, Mode::infer);
                    Kernels<device>::loss_value_and_gradient(Loss::kind, wiring_.from_logits, output_.data(),
                                                             labels_.data(), n, output_size, nullptr, false, 0.0f,
                                                             totals_.data());
                    totals_.download(totals_host_.data(), totals_host_.size());
                    totals = {totals_host_[0], totals_host_[1], totals_host_[2]};
                }
                group.sum(totals, "the evaluation sums");
                if (totals[2] != 0.0) throw bad_labels("evaluate", 0, step, totals[2]);
                sums[0] += totals[0];
                sums[1] += totals[1];
                seen += total;
            }
        } catch (...) {
            source.set_shard({});
            throw;
        }
        source.set_shard({});
        if (seen == 0) throw std::invalid_argument("evaluate: the data is empty");
        return {sums[0] / seen, sums[1] / seen, seen};
    }

    std::vector<float> scratch_x_, scratch_y_;  // a whole global batch, for sources that cannot shard
    std::vector<GradientTensor> tensors_;
    std::vector<std::pair<const void*, std::size_t>> owners_;
