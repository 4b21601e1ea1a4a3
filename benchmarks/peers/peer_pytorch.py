#!/usr/bin/env python3
"""The PyTorch peer of benchmarks/cpu_workloads (workloads.py says what runs), eager in
NCHW and channels_last, or torch.compile for inference, on an explicit thread count.

    peer_pytorch.py [--threads 2] [--iterations N] [--warmup N] [--compile]
                    [--layout nchw|channels_last|both] [workload ...]

Prints one line per workload and layout:
    <workload> <layout>: pytorch <x> img/s (median of N steps of B images, ...)
(with --compile: `torch.compile <x> img/s`; inference workloads only, under torch.no_grad,
the compile happens in the warm-up). torchvision is not needed: ResNet-50 and MobileNetV2
are written out here as Keras's applications build them. The models are also what peer_onnxruntime.py and
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


class Bottleneck(nn.Module):
    """Keras's residual_block_v1: 1x1 (with the stride) / 3x3 / 1x1 to 4 * filters, each
    convolution with bias and BatchNormalization, a projection shortcut in a stage's first block."""

    def __init__(self, channels, filters, stride, project):
        super().__init__()

        def conv_bn(cin, cout, k, s):
            return [nn.Conv2d(cin, cout, k, stride=s, padding=k // 2), nn.BatchNorm2d(cout, eps=wl.RESNET50_EPSILON)]

        self.shortcut = nn.Sequential(*conv_bn(channels, 4 * filters, 1, stride)) if project else nn.Identity()
        self.residual = nn.Sequential(*conv_bn(channels, filters, 1, stride), nn.ReLU(inplace=True),
                                      *conv_bn(filters, filters, 3, 1), nn.ReLU(inplace=True),
                                      *conv_bn(filters, 4 * filters, 1, 1))

    def forward(self, x):
        return torch.relu(self.shortcut(x) + self.residual(x))


def resnet50_stages():
    """Keras ResNet50(include_top=False) as (stem, conv2, conv3, conv4, conv5)."""
    stem = nn.Sequential(nn.Conv2d(3, 64, 7, stride=2, padding=3), nn.BatchNorm2d(64, eps=wl.RESNET50_EPSILON),
                         nn.ReLU(inplace=True), nn.MaxPool2d(3, stride=2, padding=1))
    stages, channels = [stem], 64
    for blocks, filters, stride in wl.RESNET50_STAGES:
        layers = []
        for b in range(blocks):
            layers.append(Bottleneck(channels, filters, stride if b == 0 else 1, b == 0))
            channels = 4 * filters
        stages.append(nn.Sequential(*layers))
    return stages


def resnet50_features():
    return nn.Sequential(*resnet50_stages()).eval()


class InvertedResidual(nn.Module):
    def __init__(self, channels, expansion, filters, stride):
        super().__init__()
        hidden = channels * expansion
        eps = wl.MOBILENETV2_EPSILON
        layers = []
        if expansion != 1:
            layers += [nn.Conv2d(channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden, eps=eps), nn.ReLU6(inplace=True)]
        layers += [nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden, bias=False),
                   nn.BatchNorm2d(hidden, eps=eps), nn.ReLU6(inplace=True),
                   nn.Conv2d(hidden, filters, 1, bias=False), nn.BatchNorm2d(filters, eps=eps)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and channels == filters

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


def mobilenetv2_features():
    """Keras MobileNetV2(alpha=1.0, include_top=False): the same layers (torchvision's
    mobilenet_v2 features; symmetric padding where Keras pads with correct_pad, same cost)."""
    eps = wl.MOBILENETV2_EPSILON
    layers = [nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32, eps=eps), nn.ReLU6(inplace=True)]
    channels = 32
    for expansion, filters, repeats, stride in wl.MOBILENETV2_BLOCKS:
        for r in range(repeats):
            layers.append(InvertedResidual(channels, expansion, filters, stride if r == 0 else 1))
            channels = filters
    layers += [nn.Conv2d(channels, 1280, 1, bias=False), nn.BatchNorm2d(1280, eps=eps), nn.ReLU6(inplace=True)]
    return nn.Sequential(*layers).eval()


class ResNet50Transfer(nn.Module):
    """ResNet-50, global average pool, Dense 1 sigmoid; only conv5 (not its BatchNorms) and
    the head learn, and every BatchNorm stays in eval mode (Keras's frozen BatchNormalization)."""

    def __init__(self):
        super().__init__()
        self.stages = nn.Sequential(*resnet50_stages())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, 1), nn.Sigmoid())
        for i, stage in enumerate(self.stages):
            for m in stage.modules():
                for p in m.parameters(recurse=False):
                    p.requires_grad = i == 4 and not isinstance(m, nn.BatchNorm2d)

    def train(self, mode=True):
        super().train(mode)
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
        return self

    def forward(self, x):
        return self.head(self.stages(x))


FEATURES = {"vgg16-forward": vgg16_features, "resnet50-forward": resnet50_features,
            "mobilenetv2-forward": mobilenetv2_features}


def random_images(batch, image=wl.IMAGE):
    return torch.rand(batch, image[2], image[0], image[1])


def prepare(model, x, layout):
    if layout == "channels_last":
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    return model, x


def run_forward(workload, layout, compiled, args):
    batch = wl.SETTINGS[workload][0]
    model, x = prepare(FEATURES[workload](), random_images(batch, wl.image_of(workload)), layout)
    if compiled:
        model = torch.compile(model)

        def step():
            with torch.no_grad():
                model(x)
    else:
        def step():
            with torch.inference_mode():
                model(x)

    return batch, wl.median_seconds(step, args.warmup, wl.iterations_of(workload, args))


def run_train(workload, model, layout, args):
    batch, learning_rate, _ = wl.SETTINGS[workload]
    model, x = prepare(model.train(), random_images(batch, wl.image_of(workload)), layout)
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
    p.add_argument("--compile", action="store_true", help="torch.compile (inference workloads only)")
    p.add_argument("--layout", choices=("nchw", "channels_last", "both"), default="both")
    args = p.parse_args()
    if args.compile:
        args.known = wl.INFERENCE
        args.workloads = [w for w in args.workloads if w in wl.INFERENCE] or ["vgg16-forward"]
    wl.check(p, args)
    if args.compile and not hasattr(torch, "compile"):
        sys.exit(f"peer_pytorch: torch {torch.__version__} has no torch.compile")
    set_threads(args.threads)
    torch.manual_seed(0)
    name = "torch.compile" if args.compile else "pytorch"
    layouts = ("nchw", "channels_last") if args.layout == "both" else (args.layout,)
    for w in args.workloads:
        for layout in layouts:
            if w in FEATURES:
                batch, seconds = run_forward(w, layout, args.compile, args)
            elif w == "basic-cnn-train":
                batch, seconds = run_train(w, basic_cnn(), layout, args)
            elif w == "resnet50-finetune-train":
                batch, seconds = run_train(w, ResNet50Transfer(), layout, args)
            else:
                batch, seconds = run_train(w, vgg_transfer(), layout, args)
            wl.report(w, layout, name, batch, seconds, wl.iterations_of(w, args),
                      f"{torch.get_num_threads()} threads, torch {torch.__version__}")


if __name__ == "__main__":
    sys.exit(main())
