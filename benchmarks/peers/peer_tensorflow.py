#!/usr/bin/env python3
"""The TensorFlow / Keras 3 peer of benchmarks/cpu_workloads (workloads.py says what runs),
channels_last (Keras's and TensorFlow's CPU layout), N intra-op threads and 1 inter-op
thread, the way a Keras user runs them: predict_on_batch for inference, train_on_batch
after compile() for training (Keras's default jit_compile="auto", which is no XLA on a
machine without an accelerator).

    peer_tensorflow.py [--threads 2] [--iterations N] [--warmup N] [workload ...]

Prints one line per workload: `<workload> nhwc: tensorflow <x> img/s (...)`.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

import workloads as wl  # noqa: E402


def vgg16_base(x):
    """The VGG-16 base on x, with Keras's layer names; returns (output, layers by block)."""
    blocks = []
    for b, (convs, filters) in enumerate(wl.VGG16_BLOCKS, start=1):
        block = []
        for c in range(1, convs + 1):
            block.append(layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"block{b}_conv{c}"))
            x = block[-1](x)
        block.append(layers.MaxPooling2D(2, name=f"block{b}_pool"))
        x = block[-1](x)
        blocks.append(block)
    return x, blocks


def vgg16_features():
    inputs = keras.Input(shape=wl.IMAGE)
    outputs, _ = vgg16_base(inputs)
    return keras.Model(inputs, outputs, name="vgg16")


def basic_cnn():
    inputs = keras.Input(shape=wl.IMAGE)
    x = inputs
    for filters in wl.BASIC_CNN_FILTERS:
        x = layers.Conv2D(filters, 3, activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(wl.DENSE_UNITS, activation="relu")(x)
    return keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x), name="model_a")


def vgg_transfer():
    inputs = keras.Input(shape=wl.IMAGE)
    x, blocks = vgg16_base(inputs)
    for block in blocks[:wl.FROZEN_BLOCKS]:
        for layer in block:
            layer.trainable = False
    x = layers.Flatten()(x)
    for _ in range(2):
        x = layers.Dense(wl.DENSE_UNITS, activation="relu")(x)
        x = layers.Dropout(wl.DROPOUT)(x)
    return keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x), name="model_f")


def random_images(batch):
    return tf.random.uniform((batch, *wl.IMAGE), seed=1)


def run_forward(args):
    batch = wl.SETTINGS["vgg16-forward"][0]
    model, x = vgg16_features(), random_images(batch)
    return batch, wl.median_seconds(lambda: model.predict_on_batch(x), args.warmup,
                                    wl.iterations_of("vgg16-forward", args))


def run_train(workload, model, args):
    batch, learning_rate, _ = wl.SETTINGS[workload]
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=learning_rate, rho=wl.RMSPROP_RHO,
                                                     epsilon=wl.RMSPROP_EPSILON),
                  loss="binary_crossentropy")
    x = random_images(batch)
    y = tf.cast(tf.random.uniform((batch, 1), maxval=2, dtype=tf.int32, seed=2), tf.float32)
    return batch, wl.median_seconds(lambda: model.train_on_batch(x, y), args.warmup,
                                    wl.iterations_of(workload, args))


def main():
    p = wl.parser(__doc__.splitlines()[0])
    args = p.parse_args()
    wl.check(p, args)
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(0)
    for w in args.workloads:
        if w == "vgg16-forward":
            batch, seconds = run_forward(args)
        elif w == "basic-cnn-train":
            batch, seconds = run_train(w, basic_cnn(), args)
        else:
            batch, seconds = run_train(w, vgg_transfer(), args)
        wl.report(w, "nhwc", "tensorflow", batch, seconds, wl.iterations_of(w, args),
                  f"{tf.config.threading.get_intra_op_parallelism_threads()} intra-op threads, "
                  f"tensorflow {tf.__version__}, keras {keras.__version__}")


if __name__ == "__main__":
    sys.exit(main())
