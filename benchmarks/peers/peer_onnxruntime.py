#!/usr/bin/env python3
"""The ONNX Runtime peer of benchmarks/cpu_workloads, inference only (vgg16-forward, resnet50-forward, mobilenetv2-forward; one per run):
peer_pytorch.py's model exported to ONNX in this process, run by ONNX Runtime's CPU
execution provider with all graph optimizations, N intra-op threads and 1 inter-op thread.

    peer_onnxruntime.py [--threads 2] [--iterations N] [--warmup N] [workload]

Prints `<workload> nchw: onnxruntime <x> img/s (...)`.
"""
import io
import sys
import warnings

import numpy as np
import onnxruntime as ort
import torch

import peer_pytorch
import workloads as wl


def export_onnx(model, x):
    """The model as ONNX bytes, from torch.onnx.export: the TorchScript exporter while this
    torch still has it (quick, and what ONNX Runtime has run longest), else the default one."""
    buffer = io.BytesIO()
    names = {"input_names": ["images"], "output_names": ["features"]}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        try:
            torch.onnx.export(model, (x,), buffer, opset_version=17, dynamo=False, **names)
        except Exception:  # noqa: BLE001 (a torch without it: the default exporter)
            buffer = io.BytesIO()
            torch.onnx.export(model, (x,), buffer, **names)
    return buffer.getvalue()


def main():
    p = wl.parser(__doc__.splitlines()[0], wl.INFERENCE)
    args = p.parse_args()
    wl.check(p, args)
    if len(args.workloads) > 1:
        p.error("one workload per run (each converts its own model)")
    torch.manual_seed(0)
    workload = args.workloads[0] if args.workloads else "vgg16-forward"
    batch = wl.SETTINGS[workload][0]
    x = peer_pytorch.random_images(batch, wl.image_of(workload))
    onnx_bytes = export_onnx(peer_pytorch.FEATURES[workload](), x)

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
    inputs = {session.get_inputs()[0].name: x.numpy().astype(np.float32)}

    def step():
        session.run(None, inputs)

    iterations = wl.iterations_of(workload, args)
    seconds = wl.median_seconds(step, args.warmup, iterations)
    wl.report(workload, "nchw", "onnxruntime", batch, seconds, iterations,
              f"{args.threads} intra-op threads, onnxruntime {ort.__version__}, torch {torch.__version__} export")


if __name__ == "__main__":
    sys.exit(main())
