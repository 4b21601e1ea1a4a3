#!/usr/bin/env python3
"""PyTorch peer of benchmarks/gpu/gpu_benchmark.cu: the same workloads, on the same GPU.

  vgg16-forward     VGG-16 convolutional base, 150x150x3, batch 32, inference (torch.no_grad, eval)
  basic-cnn-train   model A (Conv 16/64/128 + pools, Dense 512, Dense 1 sigmoid), batch 30,
                    BCE loss, RMSprop(lr=1e-4, alpha=0.9, eps=1e-7): one full training step
  finetune-train    model F: VGG-16 base with blocks 1-3 frozen + the chapter's head (Dense 512,
                    Dropout 0.3, Dense 512, Dropout 0.3, Dense 1 sigmoid), batch 30, RMSprop(lr=1e-5)
  resnet50-forward     torchvision's ResNet-50 without its pooling and classifier, 224x224x3, batch 32
  mobilenetv2-forward  torchvision's MobileNetV2 `features` (the base up to the 1280-channel ReLU6),
                       224x224x3, batch 32 (both: inference, eval mode, BatchNorm unfolded as PyTorch runs it)

Training steps copy the batch from pinned host memory and read the loss back (loss.item()),
as typenet's trainer does; inference runs on a batch already on the GPU. Each workload is
timed in plain FP32 (cuDNN and matmul TF32 off) and with TF32 allowed, cudnn.benchmark on,
NCHW tensors (PyTorch's default layout).

  python3 pytorch_peer.py [--iterations N] [--warmup N] [--typenet typenet_output.txt]

Prints `pytorch <workload> <precision> <img/s> img/s ...` per run; with --typenet (the output
of gpu_benchmark) it then prints, per workload and precision,
  <workload>: typenet <x> img/s, pytorch <y> img/s, ratio <x/y>
Only for benchmarking: typenet never needs Python.
"""
import argparse
import re
import sys
import time

import torch
from torch import nn


def vgg16_base():
    layers, channels = [], 3
    for convs, filters in [(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)]:
        for _ in range(convs):
            layers += [nn.Conv2d(channels, filters, 3, padding=1), nn.ReLU(inplace=True)]
            channels = filters
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


def basic_cnn():
    return nn.Sequential(
        nn.Conv2d(3, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(17 * 17 * 128, 512), nn.ReLU(), nn.Linear(512, 1), nn.Sigmoid())


def vgg_transfer():
    base = vgg16_base()
    convs = [m for m in base if isinstance(m, nn.Conv2d)]
    for conv in convs[:7]:  # blocks 1-3 frozen: trainable from block4_conv1, as model F
        conv.weight.requires_grad_(False)
        conv.bias.requires_grad_(False)
    head = nn.Sequential(nn.Flatten(), nn.Linear(4 * 4 * 512, 512), nn.ReLU(), nn.Dropout(0.3),
                         nn.Linear(512, 512), nn.ReLU(), nn.Dropout(0.3), nn.Linear(512, 1), nn.Sigmoid())
    return nn.Sequential(base, head)


def set_precision(precision):
    tf32 = precision == "tf32"
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = True


def time_steps(step, warmup, iterations):
    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(iterations):
        step()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / iterations


def backbone_forward(build, device, warmup, iterations, size=224):
    """Inference of batch 32 at size x size on a batch already on the GPU."""
    batch = 32
    model = build().to(device).eval()
    x = torch.rand(batch, 3, size, size, device=device)

    def step():
        with torch.no_grad():
            model(x)
    return batch, time_steps(step, warmup, iterations)


def resnet50_base():
    import torchvision
    return nn.Sequential(*list(torchvision.models.resnet50(weights=None).children())[:-2])


def mobilenetv2_base():
    import torchvision
    return torchvision.models.mobilenet_v2(weights=None).features


def train_workload(model, learning_rate, device, warmup, iterations):
    batch = 30
    model = model.to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.RMSprop(params, lr=learning_rate, alpha=0.9, eps=1e-7)
    loss_fn = nn.BCELoss()
    x_host = torch.rand(batch, 3, 150, 150).pin_memory()
    y_host = torch.randint(0, 2, (batch, 1)).float().pin_memory()

    def step():
        x = x_host.to(device, non_blocking=True)
        y = y_host.to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        loss.item()  # the per-batch readback
    return batch, time_steps(step, warmup, iterations)


WORKLOADS = {
    "vgg16-forward": lambda d, w, i: backbone_forward(vgg16_base, d, w, i, size=150),
    "basic-cnn-train": lambda d, w, i: train_workload(basic_cnn(), 1e-4, d, w, i),
    "finetune-train": lambda d, w, i: train_workload(vgg_transfer(), 1e-5, d, w, i),
    "resnet50-forward": lambda d, w, i: backbone_forward(resnet50_base, d, w, i),
    "mobilenetv2-forward": lambda d, w, i: backbone_forward(mobilenetv2_base, d, w, i),
}


def read_typenet(path):
    """{(workload, precision): img/s} from gpu_benchmark's output."""
    results = {}
    pattern = re.compile(r"^typenet (\S+) (fp32|tf32) ([0-9.]+) img/s")
    with open(path) as lines:
        for line in lines:
            match = pattern.match(line)
            if match:
                results[(match.group(1), match.group(2))] = float(match.group(3))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--typenet", help="gpu_benchmark's output, to print the comparison lines")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("pytorch_peer: no CUDA device visible to PyTorch", file=sys.stderr)
        return 1
    device = torch.device("cuda")
    name = torch.cuda.get_device_name(device)
    print(f"pytorch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}, on {name}", flush=True)
    torch.manual_seed(0)
    ours = {}
    for workload, run in WORKLOADS.items():
        for precision in ("fp32", "tf32"):
            set_precision(precision)
            batch, seconds = run(device, args.warmup, args.iterations)
            ours[(workload, precision)] = batch / seconds
            print(f"pytorch {workload} {precision} {batch / seconds:.1f} img/s "
                  f"({seconds * 1e3:.2f} ms per batch of {batch}) on {name}", flush=True)
            torch.cuda.empty_cache()
    if args.typenet:
        theirs = read_typenet(args.typenet)
        print()
        for workload in WORKLOADS:
            for precision in ("fp32", "tf32"):
                key = (workload, precision)
                if key not in theirs:
                    print(f"{workload} ({precision}): no typenet result in {args.typenet}")
                    continue
                label = workload if precision == "fp32" else f"{workload} (tf32)"
                x, y = theirs[key], ours[key]
                print(f"{label}: typenet {x:.1f} img/s, pytorch {y:.1f} img/s, ratio {x / y:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
