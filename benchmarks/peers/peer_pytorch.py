#!/usr/bin/env python3
"""The PyTorch peer of benchmarks/cpu_workloads (workloads.py says what runs), eager in
NCHW and channels_last, or torch.compile for inference, on an explicit thread count.

    peer_pytorch.py [--threads 2] [--iterations N] [--warmup N] [--compile]
                    [--layout nchw|channels_last|both] [workload ...]

Prints one line per workload and layout:
    <workload> <layout>: pytorch <x> img/s (median of N steps of B images, ...)
(with --compile: `torch.compile <x> img/s`; only vgg16-forward, under torch.no_grad, the
compile happens in the warm-up). The models are also what peer_onnxruntime.py and
peer_openvino.py export. Runs on Debian's PyTorch 1.13 too (without --compile).
"""
import sys

import torch
from torch import nn

import workloads as wl


def vgg16_base():
    """Returns the VGG-16 base as a list of blocks (each an nn.Sequential)."""
    blocks, channels = [], wl.IMAGE[2]
    for convs, filters in wl.VGG16_BLOCKS:
        layers = []
        for _ in range(convs):
            layers += [nn.Conv2d(channels, filters, 3, padding=1), nn.ReLU(inplace=True)]
            channels = filters
        layers.append(nn.MaxPool2d(2))
        blocks.append(nn.Sequential(*layers))
    return blocks


def vgg16_features():
    return nn.Sequential(*vgg16_base()).eval()


def basic_cnn():
    layers, channels, side = [], wl.IMAGE[2], wl.IMAGE[0]
    for filters in wl.BASIC_CNN_FILTERS:  # valid 3x3 convolutions, 2x2 pools
        layers += [nn.Conv2d(channels, filters, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        channels, side = filters, (side - 2) // 2
    return nn.Sequential(
        *layers, nn.Flatten(), nn.Linear(channels * side * side, wl.DENSE_UNITS), nn.ReLU(inplace=True),
        nn.Linear(wl.DENSE_UNITS, 1), nn.Sigmoid())


def vgg_transfer():
    blocks = vgg16_base()
    for block in blocks[:wl.FROZEN_BLOCKS]:
        for p in block.parameters():
            p.requires_grad = False
    side = wl.IMAGE[0] // 2 ** len(wl.VGG16_BLOCKS)
    head = nn.Sequential(
        nn.Flatten(), nn.Linear(512 * side * side, wl.DENSE_UNITS), nn.ReLU(inplace=True), nn.Dropout(wl.DROPOUT),
        nn.Linear(wl.DENSE_UNITS, wl.DENSE_UNITS), nn.ReLU(inplace=True), nn.Dropout(wl.DROPOUT),
        nn.Linear(wl.DENSE_UNITS, 1), nn.Sigmoid())
    return nn.Sequential(*blocks, head)


def random_images(batch):
    return torch.rand(batch, wl.IMAGE[2], wl.IMAGE[0], wl.IMAGE[1])


def prepare(model, x, layout):
    if layout == "channels_last":
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    return model, x


def run_forward(layout, compiled, args):
    batch = wl.SETTINGS["vgg16-forward"][0]
    model, x = prepare(vgg16_features(), random_images(batch), layout)
    if compiled:
        model = torch.compile(model)

        def step():
            with torch.no_grad():
                model(x)
    else:
        def step():
            with torch.inference_mode():
                model(x)

    return batch, wl.median_seconds(step, args.warmup, wl.iterations_of("vgg16-forward", args))


def run_train(workload, model, layout, args):
    batch, learning_rate, _ = wl.SETTINGS[workload]
    model, x = prepare(model.train(), random_images(batch), layout)
    y = torch.randint(0, 2, (batch, 1)).float()
    loss_fn = nn.BCELoss()
    optimizer = torch.optim.RMSprop([p for p in model.parameters() if p.requires_grad], lr=learning_rate,
                                    alpha=wl.RMSPROP_RHO, eps=wl.RMSPROP_EPSILON)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()

    return batch, wl.median_seconds(step, args.warmup, wl.iterations_of(workload, args))


def set_threads(threads):
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or parallel work has started
        pass


def main():
    p = wl.parser(__doc__.splitlines()[0])
    p.add_argument("--compile", action="store_true", help="torch.compile (vgg16-forward only)")
    p.add_argument("--layout", choices=("nchw", "channels_last", "both"), default="both")
    args = p.parse_args()
    if args.compile:
        args.known = wl.INFERENCE
        if args.workloads == list(wl.WORKLOADS):
            args.workloads = list(wl.INFERENCE)
    wl.check(p, args)
    if args.compile and not hasattr(torch, "compile"):
        sys.exit(f"peer_pytorch: torch {torch.__version__} has no torch.compile")
    set_threads(args.threads)
    torch.manual_seed(0)
    name = "torch.compile" if args.compile else "pytorch"
    layouts = ("nchw", "channels_last") if args.layout == "both" else (args.layout,)
    for w in args.workloads:
        for layout in layouts:
            if w == "vgg16-forward":
                batch, seconds = run_forward(layout, args.compile, args)
            elif w == "basic-cnn-train":
                batch, seconds = run_train(w, basic_cnn(), layout, args)
            else:
                batch, seconds = run_train(w, vgg_transfer(), layout, args)
            wl.report(w, layout, name, batch, seconds, wl.iterations_of(w, args),
                      f"{torch.get_num_threads()} threads, torch {torch.__version__}")


if __name__ == "__main__":
    sys.exit(main())
