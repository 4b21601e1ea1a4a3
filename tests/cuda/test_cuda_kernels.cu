// tests/cuda/test_cuda_kernels.cu
// Every Kernels<cuda> member against Kernels<cpu> on the same inputs: buffers, GEMM,
// bias and activations, column sums, dropout masks (exactly equal), convolutions, max
// pooling (argmax exactly equal), losses and optimizer updates. Max relative error under
// 1e-4 (check.hpp says how it is measured).
#include "common.hpp"

// Kernels<cuda> mirrors Kernels<cpu> member for member (the one list in
// backend/kernels.hpp), with the same signatures.
#define SAME_SIGNATURE(member)                                                                         \
    static_assert(std::is_same_v<decltype(CpuKernels::member), decltype(GpuKernels::member)>,        \
                  "Kernels<cuda>::" #member " must have the signature of Kernels<cpu>::" #member);
#define CHECKED_BELOW(member)
TYPENET_KERNEL_NAMES(SAME_SIGNATURE, CHECKED_BELOW)
#undef CHECKED_BELOW
#undef SAME_SIGNATURE
// The convolutions differ only in the workspace's device.
static_assert(std::is_invocable_v<decltype(GpuKernels::conv2d_forward), const tn::ConvGeometry&, const float*,
                                  std::size_t, const float*, const float*, float*, tn::ActivationKind,
                                  tn::Buffer<tn::cuda>&>);
static_assert(std::is_invocable_v<decltype(GpuKernels::conv2d_backward), const tn::ConvGeometry&, const float*,
                                  std::size_t, const float*, const float*, float*, float*, float*,
                                  tn::Buffer<tn::cuda>&>);

// ---- Buffer<cuda> ------------------------------------------------------------------

CUDA_TEST_CASE(buffer_upload_download_copy_and_growth) {
    // 5 Mi floats: more than one pinned staging chunk (16 MiB).
    const std::vector<float> host = random_vector(5u << 20, 1);
    const std::size_t growth_before = tn::buffer_growth_count();
    tn::Buffer<tn::cuda> buffer;
    buffer.upload(host.data(), host.size());
    check(tn::buffer_growth_count() == growth_before + 1, "one upload into an empty buffer grows it once");
    check_equal("upload then download", to_host(buffer), host);

    buffer.ensure(1000);  // shrinking keeps the storage and the contents
    check(tn::buffer_growth_count() == growth_before + 1, "ensure(smaller) does not allocate");
    check(buffer.size() == 1000 && buffer.capacity() == host.size(), "ensure(smaller) sets the size only");
    check_equal("contents kept when shrinking",
                to_host(buffer), std::vector<float>(host.begin(), host.begin() + 1000));

    tn::Buffer<tn::cuda> copy(buffer);  // device to device
    check_equal("copy constructor", to_host(copy), std::vector<float>(host.begin(), host.begin() + 1000));
    tn::Buffer<tn::cuda> moved(std::move(copy));
    check(copy.data() == nullptr && moved.size() == 1000, "move leaves the source empty");

    moved.zero();
    check_equal("zero", to_host(moved), std::vector<float>(1000, 0.0f));

    const std::vector<std::int32_t> ints{3, -1, 7, 1 << 30};
    check_equal("int32 buffer", to_host(to_device(ints)), ints);
}

// ---- Kernels, one by one -------------------------------------------------------------

CUDA_TEST_CASE(gemm_all_transposes) {
    const std::size_t m = 37, n = 53, k = 71;
    for (bool ta : {false, true})
        for (bool tb : {false, true}) {
            const std::size_t lda = ta ? m : k, ldb = tb ? k : n;
            const auto a = random_vector(m * k, 10), b = random_vector(k * n, 11);
            auto c_cpu = random_vector(m * n, 12);
            auto a_d = to_device(a), b_d = to_device(b), c_d = to_device(c_cpu);
            CpuKernels::gemm(ta, tb, m, n, k, 0.7f, a.data(), lda, b.data(), ldb, 0.3f, c_cpu.data(), n);
            GpuKernels::gemm(ta, tb, m, n, k, 0.7f, a_d.data(), lda, b_d.data(), ldb, 0.3f, c_d.data(), n);
            check_close(std::string("gemm trans_a=") + (ta ? "1" : "0") + " trans_b=" + (tb ? "1" : "0"), to_host(c_d),
                        c_cpu);
        }
}

CUDA_TEST_CASE(gemm_tf32_is_opt_in) {
    tn::CudaContext& context = tn::cuda_context();
    check(!context.tf32() || std::getenv("TYPENET_CUDA_TF32") != nullptr, "TF32 is off unless asked for");
    const std::size_t m = 64, n = 64, k = 256;
    const auto a = random_vector(m * k, 20), b = random_vector(k * n, 21);
    std::vector<float> c_cpu(m * n);
    CpuKernels::gemm(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c_cpu.data(), n);
    auto a_d = to_device(a), b_d = to_device(b);
    tn::Buffer<tn::cuda> c_d(m * n);
    const bool before = context.tf32();
    context.set_tf32(true);
    GpuKernels::gemm(false, false, m, n, k, 1.0f, a_d.data(), k, b_d.data(), n, 0.0f, c_d.data(), n);
    context.set_tf32(before);
    check_close("gemm with TF32 (10-bit mantissa: 1e-2)", to_host(c_d), c_cpu, 1e-2);
}

CUDA_TEST_CASE(bias_activation_and_backward) {
    const std::size_t rows = 67, cols = 45;
    for (tn::ActivationKind act : all_activations)
        for (bool with_bias : {true, false}) {
            auto y_cpu = random_vector(rows * cols, 30, -4.0f, 4.0f);
            const auto bias = random_vector(cols, 31);
            auto y_d = to_device(y_cpu), bias_d = to_device(bias);
            CpuKernels::bias_activation(y_cpu.data(), with_bias ? bias.data() : nullptr, rows, cols, act);
            GpuKernels::bias_activation(y_d.data(), with_bias ? bias_d.data() : nullptr, rows, cols, act);
            check_close(std::string("bias_activation ") + activation_text(act) + (with_bias ? " + bias" : ""),
                        to_host(y_d), y_cpu);
        }
    for (tn::ActivationKind act : all_activations)
        for (bool in_place : {false, true}) {
            auto y = random_vector(rows * cols, 32, 0.0f, 1.0f);
            CpuKernels::bias_activation(y.data(), nullptr, rows, cols, act);  // a real activation output
            auto dy_cpu = random_vector(rows * cols, 33);
            std::vector<float> dz_cpu(rows * cols);
            auto y_d = to_device(y), dy_d = to_device(dy_cpu);
            tn::Buffer<tn::cuda> dz_d(rows * cols);
            float* dz_cpu_ptr = in_place ? dy_cpu.data() : dz_cpu.data();
            float* dz_gpu_ptr = in_place ? dy_d.data() : dz_d.data();
            CpuKernels::activation_backward(y.data(), dy_cpu.data(), dz_cpu_ptr, rows, cols, act);
            GpuKernels::activation_backward(y_d.data(), dy_d.data(), dz_gpu_ptr, rows, cols, act);
            check_close(std::string("activation_backward ") + activation_text(act) + (in_place ? " in place" : ""),
                        to_host(in_place ? dy_d : dz_d), in_place ? dy_cpu : dz_cpu);
        }
}

CUDA_TEST_CASE(column_sums_tall_and_wide) {
    const std::pair<std::size_t, std::size_t> shapes[] = {{100003, 16}, {3, 1000}, {30, 1}, {657120, 64}, {1, 5}};
    for (auto [rows, cols] : shapes) {
        const auto dz = random_vector(rows * cols, 40);
        std::vector<float> sums_cpu(cols);
        CpuKernels::column_sums(dz.data(), rows, cols, sums_cpu.data());
        auto dz_d = to_device(dz);
        tn::Buffer<tn::cuda> sums_d(cols);
        sums_d.ensure(cols);
        GpuKernels::fill(sums_d.data(), cols, 123.0f);  // overwritten, not added to
        GpuKernels::column_sums(dz_d.data(), rows, cols, sums_d.data());
        check_close("column_sums " + std::to_string(rows) + " x " + std::to_string(cols), to_host(sums_d), sums_cpu);
    }
}

CUDA_TEST_CASE(dropout_masks_are_identical) {
    const std::size_t count = 100'001;
    const auto x = random_vector(count, 50);
    for (float rate : {0.3f, 0.5f}) {
        std::vector<float> y_cpu(count), dx_cpu(count);
        auto x_d = to_device(x);
        tn::Buffer<tn::cuda> y_d(count), dx_d(count);
        CpuKernels::dropout_forward(x.data(), y_cpu.data(), count, rate, 0xC0FFEE, 7, 3);
        GpuKernels::dropout_forward(x_d.data(), y_d.data(), count, rate, 0xC0FFEE, 7, 3);
        check_equal("dropout forward, rate " + std::to_string(rate), to_host(y_d), y_cpu);
        CpuKernels::dropout_backward(x.data(), dx_cpu.data(), count, rate, 0xC0FFEE, 7, 3);
        GpuKernels::dropout_backward(x_d.data(), dx_d.data(), count, rate, 0xC0FFEE, 7, 3);
        check_equal("dropout backward, rate " + std::to_string(rate), to_host(dx_d), dx_cpu);
        std::size_t dropped = 0;
        for (float v : y_cpu) dropped += v == 0.0f;
        check(dropped > count * (rate - 0.02) && dropped < count * (rate + 0.02), "dropout drops about rate of the values");
    }
}

CUDA_TEST_CASE(copy_and_fill) {
    const auto x = random_vector(4097, 60);
    auto x_d = to_device(x);
    tn::Buffer<tn::cuda> y_d(x.size());
    GpuKernels::copy(x_d.data(), y_d.data(), x.size());
    check_equal("copy", to_host(y_d), x);
    GpuKernels::fill(y_d.data(), x.size(), -2.5f);
    check_equal("fill", to_host(y_d), std::vector<float>(x.size(), -2.5f));
}

namespace {

tn::ConvGeometry conv_geometry(std::size_t h, std::size_t w, std::size_t c, std::size_t k, std::size_t filters,
                               std::size_t stride, bool same) {
    tn::ConvGeometry g{};
    g.in_h = h, g.in_w = w, g.in_c = c, g.kernel_h = g.kernel_w = k, g.filters = filters;
    g.stride_h = g.stride_w = stride;
    if (same) {
        g.out_h = (h + stride - 1) / stride, g.out_w = (w + stride - 1) / stride;
        const std::size_t pad_h = std::max<std::ptrdiff_t>(static_cast<std::ptrdiff_t>((g.out_h - 1) * stride + k) -
                                                               static_cast<std::ptrdiff_t>(h), 0);
        const std::size_t pad_w = std::max<std::ptrdiff_t>(static_cast<std::ptrdiff_t>((g.out_w - 1) * stride + k) -
                                                               static_cast<std::ptrdiff_t>(w), 0);
        g.pad_top = pad_h / 2, g.pad_left = pad_w / 2;
    } else {
        g.out_h = (h - k) / stride + 1, g.out_w = (w - k) / stride + 1;
        g.pad_top = g.pad_left = 0;
    }
    return g;
}

void compare_conv(const std::string& what, const tn::ConvGeometry& g, std::size_t batch, tn::ActivationKind act,
                  std::size_t budget = 0) {
    tn::CudaContext& context = tn::cuda_context();
    const std::size_t old_budget = context.im2col_budget();
    if (budget != 0) context.set_im2col_budget(budget);
    const auto x = random_vector(batch * g.in_size(), 70);
    const auto kernel = random_vector(g.patch_size() * g.filters, 71, -0.5f, 0.5f);
    const auto bias = random_vector(g.filters, 72);
    const auto dz = random_vector(batch * g.out_size(), 73);
    std::vector<float> y_cpu(batch * g.out_size()), dx_cpu(batch * g.in_size()),
        dk_cpu(g.patch_size() * g.filters), db_cpu(g.filters);
    tn::Buffer<tn::cpu> ws_cpu;
    CpuKernels::conv2d_forward(g, x.data(), batch, kernel.data(), bias.data(), y_cpu.data(), act, ws_cpu);
    CpuKernels::conv2d_backward(g, x.data(), batch, kernel.data(), dz.data(), dx_cpu.data(), dk_cpu.data(),
                                db_cpu.data(), ws_cpu);

    auto x_d = to_device(x), kernel_d = to_device(kernel), bias_d = to_device(bias), dz_d = to_device(dz);
    tn::Buffer<tn::cuda> y_d(y_cpu.size()), dx_d(dx_cpu.size()), dk_d(dk_cpu.size()), db_d(db_cpu.size()), ws_d;
    GpuKernels::conv2d_forward(g, x_d.data(), batch, kernel_d.data(), bias_d.data(), y_d.data(), act, ws_d);
    GpuKernels::conv2d_backward(g, x_d.data(), batch, kernel_d.data(), dz_d.data(), dx_d.data(), dk_d.data(),
                                db_d.data(), ws_d);
    context.set_im2col_budget(old_budget);
    check_close(what + " forward (" + activation_text(act) + ")", to_host(y_d), y_cpu);
    check_close(what + " dx", to_host(dx_d), dx_cpu);
    check_close(what + " dkernel", to_host(dk_d), dk_cpu);
    check_close(what + " dbias", to_host(db_d), db_cpu);
}

}  // namespace

CUDA_TEST_CASE(conv2d_forward_and_backward) {
    compare_conv("conv 3x3 valid", conv_geometry(13, 11, 5, 3, 6, 1, false), 3, tn::ActivationKind::relu);
    compare_conv("conv 3x3 same", conv_geometry(12, 9, 4, 3, 7, 1, true), 2, tn::ActivationKind::sigmoid);
    compare_conv("conv 3x3 same stride 2", conv_geometry(10, 10, 3, 3, 5, 2, true), 2, tn::ActivationKind::linear);
    compare_conv("conv 5x5 valid stride 2", conv_geometry(13, 11, 2, 5, 4, 2, false), 3, tn::ActivationKind::relu);
    compare_conv("conv 1x1 (pointwise GEMM)", conv_geometry(6, 7, 8, 1, 5, 1, false), 2, tn::ActivationKind::relu);
    compare_conv("conv 3x3 same, 64 channels", conv_geometry(18, 18, 64, 3, 32, 1, true), 2,
                 tn::ActivationKind::relu);
    // A budget of one image's patches: the batch runs in chunks, dK accumulates over them.
    const auto g = conv_geometry(9, 8, 3, 3, 4, 1, true);
    compare_conv("conv 3x3 same in 1-image chunks", g, 5, tn::ActivationKind::relu, g.out_pixels() * g.patch_size());
    compare_conv("conv 3x3 same in 2-image chunks", g, 5, tn::ActivationKind::relu, 2 * g.out_pixels() * g.patch_size());
}

CUDA_TEST_CASE(maxpool_forward_backward_with_ties) {
    struct Case {
        const char* what;
        tn::PoolGeometry g;
    };
    const Case cases[] = {
        {"pool 2 stride 2 (odd input, floor)", {9, 7, 5, 2, 2, 2, 2, 4, 3}},
        {"pool 3 stride 2 (overlapping windows)", {9, 9, 3, 3, 3, 2, 2, 4, 4}},
        {"pool 2 stride 1", {5, 6, 2, 2, 2, 1, 1, 4, 5}},
    };
    const std::size_t batch = 3;
    for (const Case& c : cases) {
        auto x = random_vector(batch * c.g.in_size(), 80);
        for (float& v : x) v = std::round(v * 2.0f) / 2.0f;  // five levels: many ties
        const auto dy = random_vector(batch * c.g.out_size(), 81);
        std::vector<float> y_cpu(batch * c.g.out_size()), dx_cpu(batch * c.g.in_size());
        std::vector<std::int32_t> argmax_cpu(y_cpu.size());
        CpuKernels::maxpool_forward(c.g, x.data(), batch, y_cpu.data(), argmax_cpu.data());
        CpuKernels::maxpool_backward(c.g, dy.data(), argmax_cpu.data(), batch, dx_cpu.data());
        auto x_d = to_device(x), dy_d = to_device(dy);
        tn::Buffer<tn::cuda> y_d(y_cpu.size()), dx_d(dx_cpu.size());
        tn::Buffer<tn::cuda, std::int32_t> argmax_d(y_cpu.size());
        GpuKernels::maxpool_forward(c.g, x_d.data(), batch, y_d.data(), argmax_d.data());
        GpuKernels::maxpool_backward(c.g, dy_d.data(), argmax_d.data(), batch, dx_d.data());
        check_equal(std::string(c.what) + " forward", to_host(y_d), y_cpu);
        check_equal(std::string(c.what) + " argmax (first maximum wins)", to_host(argmax_d), argmax_cpu);
        check_close(std::string(c.what) + " backward", to_host(dx_d), dx_cpu);
    }
}

CUDA_TEST_CASE(losses_values_metrics_and_gradients) {
    const std::size_t rows = 37;
    struct Case {
        tn::LossKind kind;
        std::size_t cols;
        bool from_logits;
        bool wrt_preactivation;
        const char* what;
    };
    const Case cases[] = {
        {tn::LossKind::binary_crossentropy, 1, false, true, "binary, fused with sigmoid"},
        {tn::LossKind::binary_crossentropy, 3, false, false, "binary, through the clip"},
        {tn::LossKind::binary_crossentropy, 2, true, true, "binary from logits"},
        {tn::LossKind::categorical_crossentropy, 5, false, true, "categorical, fused with softmax"},
        {tn::LossKind::categorical_crossentropy, 5, false, false, "categorical, through the clip"},
        {tn::LossKind::categorical_crossentropy, 5, true, true, "categorical from logits"},
        {tn::LossKind::sparse_categorical_crossentropy, 5, false, true, "sparse, fused with softmax"},
        {tn::LossKind::sparse_categorical_crossentropy, 5, false, false, "sparse, through the clip"},
        {tn::LossKind::sparse_categorical_crossentropy, 5, true, true, "sparse from logits"},
    };
    for (const Case& c : cases) {
        auto pred = random_vector(rows * c.cols, 90, -6.0f, 6.0f);
        if (!c.from_logits) {  // probabilities, some of them extreme enough to be clipped
            const auto act = c.kind == tn::LossKind::binary_crossentropy ? tn::ActivationKind::sigmoid
                                                                          : tn::ActivationKind::softmax;
            for (std::size_t i = 0; i < rows * c.cols; i += 7) pred[i] *= 4.0f;
            CpuKernels::bias_activation(pred.data(), nullptr, rows, c.cols, act);
        }
        const bool sparse = c.kind == tn::LossKind::sparse_categorical_crossentropy;
        std::vector<float> labels(rows * (sparse ? 1 : c.cols));
        tn::Random rng(91);
        for (std::size_t r = 0; r < rows; ++r) {
            const std::size_t k = rng.below(c.cols);
            if (sparse)
                labels[r] = r == 5 ? 7.0f : static_cast<float>(k);  // row 5: not a class index
            else if (c.kind == tn::LossKind::binary_crossentropy)
                for (std::size_t j = 0; j < c.cols; ++j) labels[r * c.cols + j] = rng.uniform() < 0.5f ? 0.0f : 1.0f;
            else
                labels[r * c.cols + k] = 1.0f;
        }
        std::vector<float> grad_cpu(rows * c.cols), totals_cpu(3);
        CpuKernels::loss_value_and_gradient(c.kind, c.from_logits, pred.data(), labels.data(), rows, c.cols,
                                            grad_cpu.data(), c.wrt_preactivation, 1.0f / rows, totals_cpu.data());
        auto pred_d = to_device(pred), labels_d = to_device(labels);
        tn::Buffer<tn::cuda> grad_d(grad_cpu.size()), totals_d(3);
        GpuKernels::loss_value_and_gradient(c.kind, c.from_logits, pred_d.data(), labels_d.data(), rows, c.cols,
                                            grad_d.data(), c.wrt_preactivation, 1.0f / rows, totals_d.data());
        check_close(std::string("loss ") + c.what + ": loss, accuracy and bad-label sums", to_host(totals_d),
                    totals_cpu);
        check_close(std::string("loss ") + c.what + ": gradient", to_host(grad_d), grad_cpu);
        if (sparse) check(totals_cpu[2] == 1.0f, "the CPU counts the one bad label");
        // Evaluation: no gradient.
        GpuKernels::loss_value_and_gradient(c.kind, c.from_logits, pred_d.data(), labels_d.data(), rows, c.cols,
                                            nullptr, false, 0.0f, totals_d.data());
        check_close(std::string("loss ") + c.what + ": totals without a gradient", to_host(totals_d), totals_cpu);
    }
}

CUDA_TEST_CASE(optimizer_updates) {
    const std::size_t count = 10'007;
    const auto g1 = random_vector(count, 100), g2 = random_vector(count, 101), w0 = random_vector(count, 102);
    auto run = [&](const std::string& what, auto cpu_step, auto gpu_step, std::size_t slots) {
        std::vector<float> w = w0;
        std::vector<std::vector<float>> state(slots, std::vector<float>(count, 0.0f));
        auto w_d = to_device(w0), g1_d = to_device(g1), g2_d = to_device(g2);
        std::vector<tn::Buffer<tn::cuda>> state_d(slots);
        for (auto& s : state_d) s.ensure_zeroed(count);
        for (int step = 0; step < 3; ++step) {
            const auto& g = step % 2 ? g2 : g1;
            const auto& g_d = step % 2 ? g2_d : g1_d;
            cpu_step(w.data(), g.data(), state, step);
            gpu_step(w_d.data(), g_d.data(), state_d, step);
        }
        check_close(what + ": weights after 3 steps", to_host(w_d), w);
        for (std::size_t s = 0; s < slots; ++s)
            check_close(what + ": state " + std::to_string(s), to_host(state_d[s]), state[s]);
    };
    run("sgd", [&](float* w, const float* g, auto&, int) { CpuKernels::sgd_update(w, g, nullptr, count, 0.01f, 0.0f, false); },
        [&](float* w, const float* g, auto&, int) { GpuKernels::sgd_update(w, g, nullptr, count, 0.01f, 0.0f, false); }, 0);
    for (bool nesterov : {false, true})
        run(nesterov ? "sgd momentum nesterov" : "sgd momentum",
            [&](float* w, const float* g, auto& s, int) { CpuKernels::sgd_update(w, g, s[0].data(), count, 0.01f, 0.9f, nesterov); },
            [&](float* w, const float* g, auto& s, int) { GpuKernels::sgd_update(w, g, s[0].data(), count, 0.01f, 0.9f, nesterov); },
            1);
    run("rmsprop",
        [&](float* w, const float* g, auto& s, int) { CpuKernels::rmsprop_update(w, g, s[0].data(), count, 1e-3f, 0.9f, 1e-7f); },
        [&](float* w, const float* g, auto& s, int) { GpuKernels::rmsprop_update(w, g, s[0].data(), count, 1e-3f, 0.9f, 1e-7f); },
        1);
    const tn::Adam adam{};
    run("adam",
        [&](float* w, const float* g, auto& s, int step) {
            CpuKernels::adam_update(w, g, s[0].data(), s[1].data(), count, adam.corrected_rate(step), 0.9f, 0.999f, 1e-7f);
        },
        [&](float* w, const float* g, auto& s, int step) {
            GpuKernels::adam_update(w, g, s[0].data(), s[1].data(), count, adam.corrected_rate(step), 0.9f, 0.999f, 1e-7f);
        },
        2);
}

// ---- Layers: the same layer type on both devices --------------------------------------
