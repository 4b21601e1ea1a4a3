#!/usr/bin/python3
"""An independent check of typenet's full-size VGG-16 path (150x150x3, 13 convolutions,
5 pools, flattened block5_pool features), against PyTorch.

  /usr/bin/python3 tests/examples/check_vgg16_with_pytorch.py [BUILD_DIR]

1. typenet writes a VGG16Base<150, 150> with seeded random weights as safetensors
   (make_synthetic_chapter_data, built with the tests).
2. This script writes a few 150x150 RGB images as binary PPM (lossless, no resizing, so
   both sides see the same pixels) and typenet computes their (N, 8192) features with
   `vgg16_bottleneck --weights W --extract DIR OUT.npy`, in the chapter's preprocessing
   (RGB / 255) and in Keras's caffe mode (BGR minus the ImageNet means).
3. PyTorch builds the same network from the same file: kernels transposed from Keras's
   (kh, kw, cin, cout) to PyTorch's (cout, cin, kh, kw), 'same' padding 1, ReLU, 2x2 max
   pools; the output (N, 512, 4, 4) is put back in Keras's order (N, 4, 4, 512) and flattened.
4. It prints the largest absolute and relative differences and fails above 1e-4 relative.

Needs Debian's python3-torch and python3-numpy (scripts/install-deps --with-peers).
Nothing here runs in the test suite: typenet never needs Python at run time.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch

CAFFE_BGR_MEAN = np.array([103.939, 116.779, 123.68], dtype=np.float32)
BLOCKS = [(1, 2, 64), (2, 2, 128), (3, 3, 256), (4, 3, 512), (5, 3, 512)]


def read_safetensors(path):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        assert entry["dtype"] == "F32", (name, entry["dtype"])
        start, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(data[start:end], dtype="<f4").reshape(entry["shape"])
    return tensors


def vgg16_features(weights, images_nhwc):
    """images_nhwc: float32 (N, 150, 150, 3), already preprocessed."""
    x = torch.from_numpy(np.ascontiguousarray(images_nhwc.transpose(0, 3, 1, 2)))
    with torch.no_grad():
        for block, convs, _ in BLOCKS:
            for i in range(1, convs + 1):
                name = f"block{block}_conv{i}"
                kernel = torch.from_numpy(weights[f"{name}/kernel"].transpose(3, 2, 0, 1).copy())
                bias = torch.from_numpy(weights[f"{name}/bias"].copy())
                x = torch.relu(torch.nn.functional.conv2d(x, kernel, bias, padding=1))
            x = torch.nn.functional.max_pool2d(x, 2)
    return x.numpy().transpose(0, 2, 3, 1).reshape(x.shape[0], -1)  # Keras's Flatten order: H, W, C


def write_ppm(path, rgb):
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (rgb.shape[1], rgb.shape[0]))
        f.write(rgb.astype(np.uint8).tobytes())


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    maker = os.path.join(build, "tests", "examples", "make_synthetic_chapter_data")
    extract = os.path.join(build, "examples", "vgg16_bottleneck")
    for program in (maker, extract):
        if not os.path.exists(program):
            sys.exit(f"{program} is missing: build the tree first (cmake --build {build})")
    work = tempfile.mkdtemp(prefix="typenet-vgg16-check-")
    subprocess.run([maker, work, "1"], check=True, stdout=subprocess.DEVNULL)
    weights_file = os.path.join(work, "vgg16.safetensors")
    weights = read_safetensors(weights_file)

    # Smooth pictures with some texture: a gradient, a disc, noise.
    rng = np.random.default_rng(5)
    folder = os.path.join(work, "images")
    os.makedirs(folder)
    images = []
    yy, xx = np.mgrid[0:150, 0:150]
    for n in range(4):
        rgb = np.stack([xx * (0.8 + 0.1 * n), yy * 1.2, (xx + yy) * 0.6], axis=-1)
        rgb[(yy - 60 - 5 * n) ** 2 + (xx - 80) ** 2 < 900] = [220, 40 * n, 90]
        rgb = np.clip(rgb + rng.normal(0, 12, rgb.shape), 0, 255).astype(np.uint8)
        write_ppm(os.path.join(folder, f"image.{n}.ppm"), rgb)
        images.append(rgb.astype(np.float32))
    images = np.stack(images)

    worst = 0.0
    for mode in ("chapter", "caffe"):
        out = os.path.join(work, f"typenet_{mode}.npy")
        subprocess.run([extract, "--weights", weights_file, "--extract", folder, out, "--preprocessing", mode],
                       check=True, stdout=subprocess.DEVNULL)
        ours = np.load(out)
        prepared = images / 255.0 if mode == "chapter" else images[..., ::-1] - CAFFE_BGR_MEAN
        reference = vgg16_features(weights, prepared.astype(np.float32))
        assert ours.shape == reference.shape == (4, 8192), (ours.shape, reference.shape)
        absolute = float(np.max(np.abs(ours - reference)))
        relative = absolute / float(np.max(np.abs(reference)))
        worst = max(worst, relative)
        print(f"{mode:8s} features (4, 8192): max |reference| {np.max(np.abs(reference)):.6g}, "
              f"max |typenet - PyTorch| {absolute:.3g} ({relative:.3g} of the largest value)")
    print(f"torch {torch.__version__}, files in {work}")
    if worst > 1e-4:
        sys.exit(f"FAIL: relative difference {worst:.3g} above 1e-4")
    print("OK")


if __name__ == "__main__":
    main()
