#!/usr/bin/python3
"""The PyTorch peer of benchmarks/cpu_workloads: the same three workloads, shapes and
optimizer settings, in NCHW and channels_last, on an explicit thread count (PyTorch 1.13
defaults to one), timed as medians of repeated iterations after warm-up.

    peer_pytorch.py [--threads 2] [--iterations N] [--warmup N] [--layout nchw|channels_last|both]
                    [workload ...]

Prints one line per workload and layout:
    <workload> <layout>: pytorch <x> img/s (median of N steps of B images, ...)

Workloads:
  vgg16-forward    VGG-16 convolutional base (Keras VGG16(include_top=False)) at
                   150x150x3, batch 32, inference (torch.inference_mode)
  basic-cnn-train  model A: Conv 16/64/128 + max pools, Dense 512, Dense 1 sigmoid,
                   batch 30, binary cross-entropy, RMSprop(lr=1e-3, alpha=0.9, eps=1e-7)
  finetune-train   model F: VGG-16 base with blocks 1-3 frozen (requires_grad False),
                   Flatten, Dense 512, Dropout 0.3, Dense 512, Dropout 0.3, Dense 1 sigmoid,
                   batch 30, RMSprop(lr=1e-5, alpha=0.9, eps=1e-7)
Inputs are random; weights are PyTorch's default initialisation (speed does not depend
on values).
"""
import argparse
import statistics
import sys
import time

import torch
from torch import nn

WORKLOADS = ("vgg16-forward", "basic-cnn-train", "finetune-train")
VGG16_BLOCKS = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))


def vgg16_base():
    """Returns the VGG-16 base as a list of blocks (each an nn.Sequential)."""
    blocks, channels = [], 3
    for convs, filters in VGG16_BLOCKS:
        layers = []
        for _ in range(convs):
            layers += [nn.Conv2d(channels, filters, 3, padding=1), nn.ReLU(inplace=True)]
            channels = filters
        layers.append(nn.MaxPool2d(2))
        blocks.append(nn.Sequential(*layers))
    return blocks


def basic_cnn():
    return nn.Sequential(
        nn.Conv2d(3, 16, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Conv2d(16, 64, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128 * 17 * 17, 512), nn.ReLU(inplace=True),
        nn.Linear(512, 1), nn.Sigmoid())


def vgg_transfer(frozen_blocks=3):
    blocks = vgg16_base()
    for block in blocks[:frozen_blocks]:
        for p in block.parameters():
            p.requires_grad = False
    head = nn.Sequential(
        nn.Flatten(), nn.Linear(512 * 4 * 4, 512), nn.ReLU(inplace=True), nn.Dropout(0.3),
        nn.Linear(512, 512), nn.ReLU(inplace=True), nn.Dropout(0.3), nn.Linear(512, 1), nn.Sigmoid())
    return nn.Sequential(*blocks, head)


def median_seconds(step, warmup, iterations):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def prepare(model, x, layout):
    if layout == "channels_last":
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    return model, x


def run_forward(layout, warmup, iterations):
    batch = 32
    model, x = prepare(nn.Sequential(*vgg16_base()).eval(), torch.rand(batch, 3, 150, 150), layout)

    def step():
        with torch.inference_mode():
            model(x)

    return batch, median_seconds(step, warmup, iterations)


def run_train(model, learning_rate, layout, warmup, iterations):
    batch = 30
    model, x = prepare(model.train(), torch.rand(batch, 3, 150, 150), layout)
    y = torch.randint(0, 2, (batch, 1)).float()
    loss_fn = nn.BCELoss()
    optimizer = torch.optim.RMSprop([p for p in model.parameters() if p.requires_grad], lr=learning_rate,
                                    alpha=0.9, eps=1e-7)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()

    return batch, median_seconds(step, warmup, iterations)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", default=list(WORKLOADS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=0, help="0: the workload's default")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--layout", choices=("nchw", "channels_last", "both"), default="both")
    args = parser.parse_args()
    for w in args.workloads:
        if w not in WORKLOADS:
            parser.error(f"unknown workload {w!r} (known: {', '.join(WORKLOADS)})")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    layouts = ("nchw", "channels_last") if args.layout == "both" else (args.layout,)
    for w in args.workloads:
        for layout in layouts:
            if w == "vgg16-forward":
                iterations = args.iterations or 5
                batch, seconds = run_forward(layout, args.warmup, iterations)
            elif w == "basic-cnn-train":
                iterations = args.iterations or 10
                batch, seconds = run_train(basic_cnn(), 1e-3, layout, args.warmup, iterations)
            else:
                iterations = args.iterations or 5
                batch, seconds = run_train(vgg_transfer(), 1e-5, layout, args.warmup, iterations)
            print(f"{w} {layout}: pytorch {batch / seconds:.2f} img/s (median of {iterations} steps of {batch} "
                  f"images, {seconds:.3f} s per step, {torch.get_num_threads()} threads, torch {torch.__version__})",
                  flush=True)


if __name__ == "__main__":
    sys.exit(main())
