// typenet/train/trainer_chunked.inl
// Trainer's fixed-order gradient sums (FitOptions::reduction_chunk = c): a step cuts the
// global batch into chunks of c samples (the last may be shorter) and runs forward, loss
// and backward once per chunk, on that chunk alone; the chunk gradients are summed in one
// fixed tree, the one that halves a range of chunks [lo, hi) at lo + (hi - lo) / 2. With
// N ranks (a power of two) each rank reads the node of its rank at depth log2 N
// (Shard::chunk) and sums it the same way, and DataParallel::ordered_sum adds the ranks'
// nodes up the same tree. Every float addition of the gradient sum is then the same
// whatever the number of ranks, and each chunk's kernels see the same inputs, so N ranks
// reach one process's weights bit for bit (with the same CPU thread count per process),
// step after step: no rounding difference for a ReLU to amplify (docs/distributed.md).
// Not a header on its own: included inside class Trainer, its members use the Trainer's.

    // Refuses what the mode cannot make split-invariant, before the first step.
    void check_reduction_chunk(std::size_t chunk, std::size_t ranks, const DataParallel* group) {
        if (chunk == 0) return;
        if ((ranks & (ranks - 1)) != 0)
            throw std::invalid_argument("fit: reduction_chunk sums gradients in a tree that halves the batch, which "
                                        "needs a power-of-two number of ranks, not " + std::to_string(ranks));
        if (group != nullptr && !group->has_ordered_sum())
            throw std::invalid_argument("fit: reduction_chunk needs a data-parallel group that sums in a fixed order "
                                        "(distributed::MpiDataParallel); this one cannot");
        if (const std::string layer = layer_with_batch_statistics(); !layer.empty())
            throw std::invalid_argument("fit: layer '" + layer + "' normalises with the statistics of its whole batch, "
                                        "which reduction_chunk would cut into chunks of " + std::to_string(chunk) +
                                        " samples: train it without reduction_chunk");
    }

    // One step on this process's n samples, which start at sample `first` of a global batch
    // of `global` (first is a multiple of chunk); group null: one process, first = 0.
    StepTotals train_step_chunked(DataParallel* group, std::size_t n, std::size_t global, std::size_t first,
                                  std::size_t chunk) {
        chunk_random_.clear();
        for_each_random_layer([&](const std::string&, auto& layer) { chunk_random_.push_back(layer.random_state()); });
        if (n == 0) place_slice(first, true);  // a rank without samples still uses up the step's masks
        std::array<double, 3> totals{0.0, 0.0, 0.0};
        const std::size_t lo = first / chunk, hi = (first + n + chunk - 1) / chunk;
        if (n != 0) sum_chunks(lo, hi, 0, global, first, chunk, totals);
        if (group == nullptr) place_slice(0, false);  // as an ordinary step leaves it
        if (group != nullptr) group->sum(totals, "the loss and metrics");
        const StepTotals summed{totals[0], totals[1], totals[2]};
        if (summed.invalid_labels != 0.0 || !std::isfinite(summed.loss_sum)) return summed;  // nothing applied
        if (group != nullptr) {
            tensors_.clear();
            for (Slot& slot : slots_)
                if (*slot.trainable)
                    tensors_.push_back({slot.parameter->grad.data(), slot.parameter->size(), !std::is_same_v<device, cpu>});
            group->ordered_sum(tensors_, n == 0);
        }
        apply_optimizer();
        return summed;
    }

    // The gradient of chunks [lo, hi) into the parameters' grad buffers: the left half's sum
    // waits in level `level`'s buffers while the right half's is computed, then both add.
    void sum_chunks(std::size_t lo, std::size_t hi, std::size_t level, std::size_t global, std::size_t first,
                    std::size_t chunk, std::array<double, 3>& totals) {
        if (hi - lo == 1) {
            run_chunk(lo * chunk, std::min(chunk, global - lo * chunk), global, first, totals);
            return;
        }
        const std::size_t mid = lo + (hi - lo) / 2;
        sum_chunks(lo, mid, level + 1, global, first, chunk, totals);
        if (chunk_partials_.size() <= level) chunk_partials_.resize(level + 1);
        chunk_partials_[level].resize(slots_.size());
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            if (!*slots_[i].trainable) continue;
            Buffer<device>& held = chunk_partials_[level][i];
            held.ensure(slots_[i].parameter->size());
            Kernels<device>::copy(slots_[i].parameter->grad.data(), held.data(), slots_[i].parameter->size());
        }
        sum_chunks(mid, hi, level + 1, global, first, chunk, totals);  // may grow chunk_partials_
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (*slots_[i].trainable)
                Kernels<device>::accumulate(chunk_partials_[level][i].data(), slots_[i].parameter->grad.data(),
                                            slots_[i].parameter->size());
    }

    // Forward, loss (scaled by 1 / global, as every step) and backward of `count` samples
    // starting at sample `begin` of the global batch, drawing the step's Dropout masks.
    void run_chunk(std::size_t begin, std::size_t count, std::size_t global, std::size_t first,
                   std::array<double, 3>& totals) {
        std::size_t k = 0;
        for_each_random_layer([&](const std::string&, auto& layer) { layer.set_random_state(chunk_random_[k++]); });
        place_slice(begin, false);
        input_.upload(x_host_.data() + (begin - first) * input_size, count * input_size);
        labels_.upload(y_host_.data() + (begin - first) * label_size, count * label_size);
        model_->forward(input_.data(), output_.data(), count, Mode::train);
        Kernels<device>::loss_value_and_gradient(Loss::kind, wiring_.from_logits, output_.data(), labels_.data(), count,
                                                 output_size, gradient_.data(), wiring_.wrt_preactivation,
                                                 1.0f / static_cast<float>(global), totals_.data());
        totals_.download(totals_host_.data(), totals_host_.size());
        for (std::size_t i = 0; i < 3; ++i) totals[i] += totals_host_[i];
        model_->backward(input_.data(), output_.data(), gradient_.data(), nullptr, count, wiring_.wrt_preactivation);
    }

    std::vector<std::array<std::uint64_t, 2>> chunk_random_;      // the random layers' states at the step's start
    std::vector<std::vector<Buffer<device>>> chunk_partials_;     // [tree level][slot]: left halves' sums
