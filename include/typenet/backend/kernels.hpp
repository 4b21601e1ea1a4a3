// typenet/backend/kernels.hpp
// The contract between layers and devices. Layers are written once and call
// Kernels<Device>::...; each device specialises Kernels (backend/cpu/kernels.hpp,
// backend/cuda/kernels.cuh). All pointers are device pointers, all tensors are
// float32, row-major, batch first (NHWC for images).
//
// Every device provides the static members named once in TYPENET_KERNEL_NAMES below
// (Kernels<cpu>, Kernels<cuda> and the CUDA signature test all expand that list), with
// these meanings:
//
//   gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
//       C[m x n] = alpha * op(A) * op(B) + beta * C, row-major.
//   bias_activation(y, bias, rows, cols, act)
//       y[r, c] = act(y[r, c] + bias[c]) in place; bias may be null; Softmax acts on rows.
//   activation_backward(y, dy, dz, rows, cols, act)
//       dz = dL/d(pre-activation) from the activation's output y and dL/dy; dz may alias dy.
//   column_sums(dz, rows, cols, sums)      sums[c] = sum over r of dz[r, c] (overwrites).
//   conv2d_forward(geometry, x, batch, kernel, bias, y, act, workspace)
//       y = act(conv(x, kernel) + bias); kernel in Keras layout (kh, kw, cin, cout).
//   conv2d_backward(geometry, x, batch, kernel, dz, dx, dkernel, dbias, workspace)
//       from dz = dL/d(pre-activation): dkernel and dbias (overwritten; skipped when
//       null) and dx (overwritten; skipped when null).
//   maxpool_forward(geometry, x, batch, y, argmax)
//       argmax[i] = index of the winning input element within its image.
//   maxpool_backward(geometry, dy, argmax, batch, dx)     dx overwritten.
//   dropout_forward(x, y, count, rate, seed, stream, first)
//       y[i] = keep(i) ? x[i] / (1 - rate) : 0, keep(i) = hash_uniform(seed, stream, first + i) >= rate.
//   dropout_backward(dy, dx, count, rate, seed, stream, first)    the same mask, recomputed.
//   copy(src, dst, count), fill(dst, count, value)
//
// The layers of today's backbones (ResNet-50, MobileNetV2):
//   batchnorm_forward_training(x, rows, channels, gamma, beta, epsilon, momentum, y,
//                              saved_mean, saved_inv_std, moving_mean, moving_variance)
//       Per channel over rows: mean, biased variance var; y = gamma (x - mean) inv_std + beta
//       with inv_std = 1 / sqrt(var + epsilon); saved_* keep mean and inv_std for backward;
//       moving = moving * momentum + batch * (1 - momentum) (Keras 3: biased var here too).
//   batchnorm_forward_inference(x, rows, channels, gamma, beta, moving_mean, moving_variance,
//                               epsilon, y, saved_mean, saved_inv_std)
//       The same with the moving statistics; saved_* get them (as mean and inv_std).
//   batchnorm_backward(x, dy, rows, channels, gamma, saved_mean, saved_inv_std, batch_statistics,
//                      dx, dgamma, dbeta)
//       dgamma = sum dy xhat, dbeta = sum dy (overwritten; skipped when null); dx (skipped
//       when null): through the batch statistics when batch_statistics, else through a
//       fixed affine map (inference mode).
//   depthwise_conv2d_forward(geometry, x, batch, kernel, bias, y, act)
//       geometry.filters = in_c * depth_multiplier; kernel (kh, kw, in_c, multiplier), output
//       channel c * multiplier + m sees input channel c only; bias may be null.
//   depthwise_conv2d_backward(geometry, x, batch, kernel, dz, dx, dkernel, dbias)
//       as conv2d_backward: each output overwritten, skipped when null.
//   avgpool_forward(geometry, x, batch, y)        geometry.filters = channels, kernel = pool;
//       the mean over the window's pixels inside the input (padding excluded, as TensorFlow).
//   avgpool_backward(geometry, dy, batch, dx)     dx overwritten.
//   zero_pad_forward(pad, x, batch, y), zero_pad_backward(pad, dy, batch, dx)
//       y = x framed by zeros; dx = the interior of dy.
//   relu_forward(x, y, count, max_value)          y = min(max(x, 0), max_value), NaN passes.
//   relu_backward(x, dy, dx, count, max_value)    dx = dy where 0 < x < max_value, else 0.
//   accumulate(src, dst, count)                   dst += src (Add).
//   copy_channels(src, src_channels, src_offset, dst, dst_channels, dst_offset, width, rows)
//       for every row r: dst[r * dst_channels + dst_offset + c] = src[r * src_channels +
//       src_offset + c], c < width (Concatenate on the channel axis, and its backward).
//
// Training (train/): the loss and the optimizer steps run on the device too, so a step
// moves only the batch in and three numbers out.
//   loss_value_and_gradient(kind, from_logits, y_pred, y_true, rows, cols, grad,
//                           grad_wrt_preactivation, grad_scale, totals)
//       Keras 2's loss per sample (rows of cols predictions; y_true holds rows x cols
//       targets, or one class index per row for the sparse loss) and its metric:
//       totals[0] = sum over rows of the sample losses, totals[1] = sum of the sample
//       accuracies, totals[2] = rows whose sparse label is not a class index in [0, cols).
//       grad (skipped when null) = grad_scale * dL/dy_pred, or, when
//       grad_wrt_preactivation, grad_scale * dL/d(pre-activation) of the Sigmoid (binary)
//       or Softmax (categorical) that produced y_pred: the fused, stable (p - y).
//       from_logits: y_pred are logits and grad is with respect to them.
//   sgd_update(w, g, velocity, count, lr, momentum, nesterov)
//       momentum 0: w -= lr * g (velocity unused, may be null); else
//       v = momentum * v - lr * g; w += v, or w += momentum * v - lr * g (Nesterov).
//   rmsprop_update(w, g, accumulator, count, lr, rho, epsilon)
//       a = rho * a + (1 - rho) * g^2; w -= lr * g / (sqrt(a) + epsilon).
//   adam_update(w, g, m, v, count, lr_t, beta_1, beta_2, epsilon)
//       m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; w -= lr_t * m / (sqrt(v) + epsilon),
//       lr_t the bias-corrected rate the host computes once per step.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "typenet/core/device.hpp"

// The kernel names, once. X(name) is a kernel with the same signature on every device;
// WORKSPACE(name) one that also takes the device's own workspace Buffer<Device>&
// (the convolutions), so its signature differs in that one argument.
#define TYPENET_KERNEL_NAMES(X, WORKSPACE) \
    /* the layers of the first models */  \
    X(gemm)                               \
    X(bias_activation)                    \
    X(activation_backward)                \
    X(column_sums)                        \
    WORKSPACE(conv2d_forward)             \
    WORKSPACE(conv2d_backward)            \
    X(maxpool_forward)                    \
    X(maxpool_backward)                   \
    X(dropout_forward)                    \
    X(dropout_backward)                   \
    X(copy)                               \
    X(fill)                               \
    /* the layers of the backbones */     \
    X(batchnorm_forward_training)         \
    X(batchnorm_forward_inference)        \
    X(batchnorm_backward)                 \
    X(depthwise_conv2d_forward)           \
    X(depthwise_conv2d_backward)          \
    X(avgpool_forward)                    \
    X(avgpool_backward)                   \
    X(zero_pad_forward)                   \
    X(zero_pad_backward)                  \
    X(relu_forward)                       \
    X(relu_backward)                      \
    X(accumulate)                         \
    X(copy_channels)                      \
    /* training */                        \
    X(loss_value_and_gradient)            \
    X(sgd_update)                         \
    X(rmsprop_update)                     \
    X(adam_update)

namespace typenet {

// What an activation is, as a value the kernels can switch on outside their loops.
enum class ActivationKind { linear, relu, sigmoid, softmax };

constexpr std::string_view activation_name(ActivationKind kind) {
    switch (kind) {
        case ActivationKind::relu: return "relu";
        case ActivationKind::sigmoid: return "sigmoid";
        case ActivationKind::softmax: return "softmax";
        default: return "linear";
    }
}

// Which loss a loss kernel computes (train/losses.hpp gives them their Keras names).
enum class LossKind { binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy };

// Everything a convolution kernel needs to know about its shapes, per image.
struct ConvGeometry {
    std::size_t in_h, in_w, in_c;
    std::size_t kernel_h, kernel_w, filters;
    std::size_t stride_h, stride_w;
    std::size_t pad_top, pad_left;  // TensorFlow 'same': the smaller half before
    std::size_t out_h, out_w;

    constexpr std::size_t in_size() const { return in_h * in_w * in_c; }
    constexpr std::size_t out_size() const { return out_h * out_w * filters; }
    constexpr std::size_t patch_size() const { return kernel_h * kernel_w * in_c; }
    constexpr std::size_t out_pixels() const { return out_h * out_w; }
    constexpr bool is_pointwise() const {
        return kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 && pad_left == 0;
    }
};

struct PoolGeometry {
    std::size_t in_h, in_w, channels;
    std::size_t pool_h, pool_w;
    std::size_t stride_h, stride_w;
    std::size_t out_h, out_w;

    constexpr std::size_t in_size() const { return in_h * in_w * channels; }
    constexpr std::size_t out_size() const { return out_h * out_w * channels; }
};

// ZeroPadding2D: the input framed by top/left (and bottom/right) rows and columns of zeros.
struct Pad2DGeometry {
    std::size_t in_h, in_w, channels;
    std::size_t top, left;
    std::size_t out_h, out_w;

    constexpr std::size_t in_size() const { return in_h * in_w * channels; }
    constexpr std::size_t out_size() const { return out_h * out_w * channels; }
};

// Specialised per device; using a device without its specialisation is an error
// that names the missing piece.
template <class Device>
struct Kernels {
    static_assert(sizeof(Device) == 0,
                  "typenet: no kernels for this device: include typenet/backend/cuda/kernels.cuh "
                  "(compiled by nvcc) to use tn::cuda");
};

}  // namespace typenet
