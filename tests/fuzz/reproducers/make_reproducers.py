#!/usr/bin/env python3
"""Writes the committed reproducers of tests/fuzz/reproducers/<reader>/: one small file per
hostile-file finding of issue 16, replayed by scripts/fuzz-smoke through each fuzzer (every
one must end in the reader's own error, never a crash or a big allocation).

Run with the fixtures venv (h5py, pillow): /work/venvs/keras/bin/python make_reproducers.py
"""
import gzip
import io
import os
import struct

import h5py
import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))


def write(reader, name, data):
    os.makedirs(os.path.join(HERE, reader), exist_ok=True)
    with open(os.path.join(HERE, reader, name), "wb") as f:
        f.write(data)


def safetensors(header):
    header = header.encode()
    header += b" " * ((8 - len(header) % 8) % 8)
    return struct.pack("<Q", len(header)) + header


def npy(dictionary):
    header = dictionary.encode()
    header += b" " * (64 - (10 + len(header) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def jpeg_claiming(height, width, with_scan):
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buffer, "JPEG", quality=50)
    data = bytearray(buffer.getvalue())
    i = 2
    while data[i + 1] != 0xC0:
        i += 2 + struct.unpack(">H", data[i + 2:i + 4])[0]
    data[i + 5:i + 9] = struct.pack(">HH", height, width)
    if not with_scan:
        j = 2
        while data[j + 1] != 0xDA:
            j += 2 + struct.unpack(">H", data[j + 2:j + 4])[0]
        data = data[:j] + b"\xff\xd9"
    return bytes(data)


def h5_claiming(name, dims, chunked):
    path = os.path.join(HERE, "keras_hdf5", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([b"dense"])
        g = f.create_group("dense")
        g.attrs["weight_names"] = np.array([b"dense/kernel:0"])
        g.create_dataset("dense/kernel:0", shape=dims, dtype="<f4", chunks=(1,) * len(dims) if chunked else None)


depth = 75000
write("safetensors", "deep_json_75000.safetensors", safetensors('{"w":' + "[" * depth + "]" * depth + "}"))
write("safetensors", "zero_dim_unaddressable.safetensors",
      safetensors('{"w": {"dtype": "F32", "shape": [0, 4611686018427387904, 4], "data_offsets": [0, 0]}}'))
write("npy", "shape_0_2e62_4.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4611686018427387904, 4), }"))
write("idx", "labels_claim_450MB_13_bytes", struct.pack(">II", 0x801, 0x1B000000) + b"abcde")
write("idx", "images_claim_16GiB.gz",
      gzip.compress(struct.pack(">IIII", 0x803, 1 << 15, 1 << 9, 1 << 10) + b"data", mtime=0))
write("csv", "blank_lines.csv", b"epoch,loss\r\n" + b"\n" * 200000 + b"0,0.5\r\n")
write("image", "jpeg_claims_32768x32768.jpg", jpeg_claiming(32768, 32768, True))
write("image", "jpeg_16384x16384_no_scan.jpg", jpeg_claiming(16384, 16384, False))
wide = io.BytesIO()
Image.new("RGB", (32768, 8), (10, 200, 30)).save(wide, "PNG", optimize=True)
write("image", "png_32768x8.png", wide.getvalue())
h5_claiming("claims_40GB.h5", (100000, 100000), False)
h5_claiming("dims_overflow.h5", (1 << 40, 1 << 40, 1 << 40), True)
