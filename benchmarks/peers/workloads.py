"""What every peer of benchmarks/cpu_workloads runs, and how it is timed and printed.

The three chapter workloads (the same shapes, batch sizes and optimizer settings as
benchmarks/cpu_workloads.cpp):
  vgg16-forward    VGG-16 convolutional base (Keras VGG16(include_top=False)) at
                   150x150x3, batch 32, inference
  basic-cnn-train  model A: Conv 16/64/128 (3x3, valid, ReLU) each + 2x2 max pool,
                   Flatten, Dense 512 ReLU, Dense 1 sigmoid; batch 30, binary
                   cross-entropy, RMSprop(lr=1e-3, rho=0.9, eps=1e-7)
  finetune-train   model F: VGG-16 base with blocks 1-3 frozen, Flatten, Dense 512 ReLU,
                   Dropout 0.3, Dense 512 ReLU, Dropout 0.3, Dense 1 sigmoid; batch 30,
                   RMSprop(lr=1e-5, rho=0.9, eps=1e-7)
and the backbone workloads (Keras's applications, include_top=False, random weights):
  resnet50-forward     ResNet-50 (Keras's ResNet v1: the stride on a stage's first 1x1
                       convolution, convolutions with bias, BatchNormalization epsilon
                       1.001e-5) at 224x224x3, batch 32, inference
  mobilenetv2-forward  MobileNetV2 (alpha 1.0) at 224x224x3, batch 32, inference
  resnet50-finetune-train  ResNet-50 + global average pool + Dense 1 sigmoid; conv5_* and
                       the head trainable, every BatchNormalization frozen (inference
                       mode); batch 32, binary cross-entropy, RMSprop(lr=1e-5)
Inputs are random; weights are each framework's default initialisation (speed does not
depend on values). Each peer script prints one line per workload and variant:
    <workload> <variant>: <peer> <x> img/s (median of N steps of B images, ...)
and benchmarks/compare keeps the best variant of each peer. Nothing here imports a
framework, so each peer script needs only its own.
"""
import argparse
import statistics
import time

WORKLOADS = ("vgg16-forward", "basic-cnn-train", "finetune-train", "resnet50-forward", "mobilenetv2-forward",
             "resnet50-finetune-train")
INFERENCE = ("vgg16-forward", "resnet50-forward", "mobilenetv2-forward")
CHAPTER = ("vgg16-forward", "basic-cnn-train", "finetune-train")  # what a peer runs when none is named

IMAGE = (150, 150, 3)                       # height, width, channels
BACKBONE_IMAGE = (224, 224, 3)              # the backbone workloads
RESNET50_STAGES = ((3, 64, 1), (4, 128, 2), (6, 256, 2), (3, 512, 2))  # (blocks, filters, first stride)
RESNET50_EPSILON = 1.001e-5
MOBILENETV2_BLOCKS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                      (6, 320, 1, 1))    # (expansion, filters, repeats, first stride)
MOBILENETV2_EPSILON = 1e-3
VGG16_BLOCKS = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))  # (convolutions, filters)
FROZEN_BLOCKS = 3                           # model F trains blocks 4-5 and the head
BASIC_CNN_FILTERS = (16, 64, 128)           # model A's convolutions
DENSE_UNITS = 512
DROPOUT = 0.3
RMSPROP_RHO = 0.9
RMSPROP_EPSILON = 1e-7

# batch, learning rate (None for inference), default timed iterations
SETTINGS = {
    "vgg16-forward": (32, None, 5),
    "basic-cnn-train": (30, 1e-3, 10),
    "finetune-train": (30, 1e-5, 5),
    "resnet50-forward": (32, None, 5),
    "mobilenetv2-forward": (32, None, 5),
    "resnet50-finetune-train": (32, 1e-5, 3),
}


def image_of(workload):
    """(height, width, channels) of the workload's inputs."""
    return BACKBONE_IMAGE if workload.startswith(("resnet50", "mobilenetv2")) else IMAGE


def median_seconds(step, warmup, iterations):
    """Median wall time of `iterations` calls of step() after `warmup` untimed ones."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def parser(description, workloads=WORKLOADS):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("workloads", nargs="*", default=[w for w in workloads if w in CHAPTER] or list(workloads))
    p.add_argument("--threads", type=int, default=2, help="intra-op threads (inter-op: 1)")
    p.add_argument("--iterations", type=int, default=0, help="0: the workload's default")
    p.add_argument("--warmup", type=int, default=2)
    p.set_defaults(known=workloads)
    return p


def check(p, args):
    for w in args.workloads:
        if w not in args.known:
            p.error(f"workload {w!r} is not run by this peer (it runs: {', '.join(args.known)})")


def iterations_of(workload, args):
    return args.iterations or SETTINGS[workload][2]


def report(workload, variant, peer, batch, seconds, iterations, detail):
    print(f"{workload} {variant}: {peer} {batch / seconds:.2f} img/s (median of {iterations} steps of {batch} "
          f"images, {seconds:.3f} s per step, {detail})", flush=True)
