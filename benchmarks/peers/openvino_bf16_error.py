#!/usr/bin/env python3
"""OpenVINO's own BF16 error, the reference point for typenet's (docs/performance.md, "BF16"):
the VGG-16 and ResNet-50 bases of peer_pytorch.py with Keras's initialisers (glorot-uniform
kernels, zero biases, as typenet's zoo) and every BatchNorm given random gamma, beta and
running statistics as tests/cpu/test_bf16.cpp does, caffe-scaled
random images, compiled for the CPU with INFERENCE_PRECISION_HINT f32 and bf16; prints
max |bf16 - f32| / max |f32| over the features, the measure test_bf16 holds typenet to.

    openvino_bf16_error.py [--size 32] [--batch 2] [--seeds 4]
"""
import argparse
import warnings

import numpy as np
import openvino as ov
import torch

import peer_pytorch


def keras_like(model, generator):
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            with torch.no_grad():
                fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
                fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1]
                limit = (6.0 / (fan_in + fan_out)) ** 0.5
                m.weight.copy_((torch.rand(m.weight.shape, generator=generator) * 2 - 1) * limit)
                if m.bias is not None:
                    m.bias.zero_()
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            with torch.no_grad():
                m.weight.copy_(torch.rand(n, generator=generator) + 0.5)
                m.bias.copy_(torch.rand(n, generator=generator) * 2 - 1)
                m.running_mean.copy_(torch.rand(n, generator=generator) * 2 - 1)
                m.running_var.copy_(torch.rand(n, generator=generator) * 1.5 + 0.5)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--seeds", type=int, default=4)
    args = p.parse_args()
    core = ov.Core()
    for name in ("vgg16-forward", "resnet50-forward"):
        errors = []
        for seed in range(1, args.seeds + 1):
            torch.manual_seed(seed)
            generator = torch.Generator().manual_seed(100 + seed)
            model = peer_pytorch.FEATURES[name]()
            keras_like(model, generator)
            x = torch.rand(args.batch, 3, args.size, args.size, generator=generator) * 275 - 124
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                converted = ov.convert_model(model, example_input=x)
            out = {}
            for precision in ("f32", "bf16"):
                compiled = core.compile_model(converted, "CPU", {"INFERENCE_PRECISION_HINT": precision,
                                                                 "INFERENCE_NUM_THREADS": "2"})
                out[precision] = compiled([x.numpy()])[0].astype(np.float64)
            f32, bf16 = out["f32"], out["bf16"]
            errors.append(np.abs(bf16 - f32).max() / np.abs(f32).max())
        print(f"{name} {args.size}x{args.size}: openvino {ov.get_version().split('-')[0]} bf16 against f32, "
              f"max |difference| / max |f32| per seed: " + ", ".join(f"{e:.4g}" for e in errors))


if __name__ == "__main__":
    main()
