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


def resnet50_features():
    return keras.applications.ResNet50(weights=None, include_top=False, input_shape=wl.BACKBONE_IMAGE)


def mobilenetv2_features():
    return keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=wl.BACKBONE_IMAGE)


def resnet50_transfer():
    """ResNet-50 + global average pool + Dense 1 sigmoid; conv5_* (BatchNormalization
    excepted) and the head trainable; every BatchNormalization frozen, so inference mode."""
    base = resnet50_features()
    for layer in base.layers:
        layer.trainable = layer.name.startswith("conv5_") and not isinstance(layer, layers.BatchNormalization)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(base.output)
    return keras.Model(base.input, layers.Dense(1, activation="sigmoid", name="predictions")(x), name="resnet50_transfer")


FEATURES = {"vgg16-forward": vgg16_features, "resnet50-forward": resnet50_features,
            "mobilenetv2-forward": mobilenetv2_features}


def random_images(batch, image=wl.IMAGE):
    return tf.random.uniform((batch, *image), seed=1)


def run_forward(workload, args):
    batch = wl.SETTINGS[workload][0]
    model, x = FEATURES[workload](), random_images(batch, wl.image_of(workload))
    return batch, wl.median_seconds(lambda: model.predict_on_batch(x), args.warmup,
                                    wl.iterations_of(workload, args))


def run_train(workload, model, args):
    batch, learning_rate, _ = wl.SETTINGS[workload]
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=learning_rate, rho=wl.RMSPROP_RHO,
                                                     epsilon=wl.RMSPROP_EPSILON),
                  loss="binary_crossentropy")
    x = random_images(batch, wl.image_of(workload))
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
        if w in FEATURES:
            batch, seconds = run_forward(w, args)
        elif w == "basic-cnn-train":
            batch, seconds = run_train(w, basic_cnn(), args)
        elif w == "resnet50-finetune-train":
            batch, seconds = run_train(w, resnet50_transfer(), args)
        else:
            batch, seconds = run_train(w, vgg_transfer(), args)
        wl.report(w, "nhwc", "tensorflow", batch, seconds, wl.iterations_of(w, args),
                  f"{tf.config.threading.get_intra_op_parallelism_threads()} intra-op threads, "
                  f"tensorflow {tf.__version__}, keras {keras.__version__}")


if __name__ == "__main__":
    sys.exit(main())
